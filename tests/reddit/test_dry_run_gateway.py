"""A dry-run gateway reads Reddit as usual and refuses every write before it leaves the process."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from redditbot.errors import DryRunViolation
from redditbot.reddit.gateway import PrawGateway, is_read_only
from redditbot.reddit.sandbox import (
    DEMO_BOT,
    SandboxServer,
    World,
)
from tests.pipeline.conftest import reddit_settings


def gateway_for(server: SandboxServer, *, dry_run: bool) -> PrawGateway:
    return PrawGateway(reddit_settings(server), dry_run=dry_run)


@pytest.fixture
def dry(sandbox_server: SandboxServer) -> PrawGateway:
    return gateway_for(sandbox_server, dry_run=True)


def own_comment(world: World) -> str:
    thread = world.submissions({"learnpython"})[0].fullname
    return "t1_" + world.add_comment(thread, DEMO_BOT, "an earlier answer of mine")


WRITES: dict[str, Callable[[PrawGateway, World], object]] = {
    "reply": lambda g, w: g.reply(w.comments({"learnpython"})[0].fullname, "hello"),
    "mark_read": lambda g, w: g.mark_read([w.comments({"learnpython"})[0].fullname]),
    "delete": lambda g, w: g.delete(own_comment(w)),
    "submit": lambda g, w: g.submit("learnpython", "A title", "A body"),
    "delete_submission": lambda g, w: g.delete_submission(
        w.submissions({"learnpython"})[0].fullname
    ),
    # a write the gateway has no method for: the guard sits below PRAW, so it still holds
    "vote": lambda g, w: g._reddit.comment(w.comments({"learnpython"})[0].id).upvote(),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_is_refused_before_it_is_sent(
    sandbox_world: World, sandbox_server: SandboxServer, dry: PrawGateway, write
) -> None:
    dry.me()  # logged in: the token request is allowed
    with pytest.raises(DryRunViolation, match="dry run: refused POST /api/"):
        write(dry, sandbox_world)
    assert sandbox_server.writes.records == []


def test_reads_work_in_a_dry_run(sandbox_world: World, sandbox_server, dry: PrawGateway) -> None:
    thread = sandbox_world.submissions({"learnpython"})[0].fullname
    mention = "t1_" + sandbox_world.mention(DEMO_BOT, thread, "asker", "any ideas?")
    assert dry.submissions(["learnpython"]).items and dry.comments(["learnpython"]).items
    assert mention in [item.comment.fullname for item in dry.inbox()]
    assert [item.fullname for item in dry.fetch([mention])] == [mention]
    assert dry.own_replies_to(mention) == [] and dry.own_recent_submissions() == []
    assert sandbox_server.writes.records == []


def test_a_live_gateway_writes(sandbox_world: World, sandbox_server: SandboxServer) -> None:
    target = sandbox_world.comments({"learnpython"})[0].fullname
    assert gateway_for(sandbox_server, dry_run=False).reply(target, "hello") is not None
    assert [w.path for w in sandbox_server.writes.records] == ["/api/comment/"]


@pytest.mark.parametrize(
    ("method", "url", "read_only"),
    [
        ("GET", "https://oauth.reddit.com/message/unread/", True),
        ("POST", "https://www.reddit.com/api/v1/access_token", True),
        ("POST", "https://oauth.reddit.com/api/morechildren/", True),
        ("POST", "https://oauth.reddit.com/api/read_message/", False),
        ("POST", "https://oauth.reddit.com/api/vote/", False),
        ("PATCH", "https://oauth.reddit.com/api/v1/me/prefs", False),
        ("DELETE", "https://oauth.reddit.com/api/v1/me/friends/x", False),
    ],
)
def test_which_requests_count_as_reads(method: str, url: str, read_only: bool) -> None:
    assert is_read_only(method, url) is read_only
