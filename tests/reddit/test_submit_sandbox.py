"""/api/submit and /user/{name}/submitted in the sandbox, through the gateway and real PRAW."""

from __future__ import annotations

import pytest

from redditbot.config import RedditSettings
from redditbot.errors import RateLimited, TargetUnavailable, WriteOutcomeUnknown
from redditbot.reddit.gateway import PostedSubmission, PrawGateway
from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    SandboxServer,
    World,
)

TITLE = "What is your favourite way to read a file?"
BODY = "I keep using open() but hear pathlib is nicer. What do you use?"


@pytest.fixture
def gateway(sandbox_server: SandboxServer) -> PrawGateway:
    server = sandbox_server
    return PrawGateway(RedditSettings(
        client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET, username=DEMO_BOT,
        password=DEMO_PASSWORD, user_agent="test:redditbot:0.1 (by /u/redditbot)",
        oauth_url=server.url, reddit_url=server.url, short_url=server.url, ratelimit_seconds=0,
    ))  # fmt: skip


def submit_writes(server: SandboxServer) -> list:
    return [w for w in server.writes.records if w.path.startswith("/api/submit")]


def test_submit_creates_a_self_post_in_the_listings(
    sandbox_world: World, sandbox_server: SandboxServer, gateway: PrawGateway
) -> None:
    posted = gateway.submit("learnpython", TITLE, BODY, flair_id="flair-1", flair_text="Question")
    newest = sandbox_world.submissions({"learnpython"})[0]
    assert posted == PostedSubmission(fullname=newest.fullname, subreddit="learnpython",
                                      title=TITLE)  # fmt: skip
    assert (newest.author, newest.title, newest.selftext) == (DEMO_BOT, TITLE, BODY)
    assert (newest.flair_id, newest.flair_text) == ("flair-1", "Question")
    page = gateway.submissions(["learnpython"])
    assert page.items[0].fullname == posted.fullname and page.items[0].selftext == BODY
    assert [w.outcome for w in submit_writes(sandbox_server)] == ["created"]


def test_own_recent_submissions_lists_the_accounts_posts(
    sandbox_world: World, gateway: PrawGateway
) -> None:
    first = gateway.submit("learnpython", TITLE, BODY)
    second = gateway.submit("gardening", "Tomatoes in November?", "Mine are still green.")
    sandbox_world.add_submission("learnpython", "quiet_otter1", "not the bot's", "text")
    mine = gateway.own_recent_submissions()
    assert [s.fullname for s in mine[:2]] == [second.fullname, first.fullname]
    assert all(s.fullname != "" and s.permalink.startswith("/r/") for s in mine[:2])
    assert mine[1].title == TITLE and mine[1].subreddit == "learnpython"


def test_delete_submission_hides_it(sandbox_world: World, gateway: PrawGateway) -> None:
    posted = gateway.submit("learnpython", TITLE, BODY)
    gateway.delete_submission(posted.fullname)
    assert sandbox_world.get(posted.fullname).deleted
    assert posted.fullname not in [s.fullname for s in gateway.own_recent_submissions()]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda sub: setattr(sub, "restricted", True), "subreddit_not_allowed"),
        (lambda sub: setattr(sub, "allow_selfs", False), "no_selfs"),
        (lambda sub: setattr(sub, "flair_required", True), "submit_validation_flair_required"),
        (lambda sub: sub.banned.add(DEMO_BOT.lower()), "forbidden"),
    ],
)
def test_subreddit_rules_refuse_the_post(
    sandbox_world: World, sandbox_server: SandboxServer, gateway: PrawGateway, setup, reason
) -> None:
    before = len(sandbox_world.submissions({"learnpython"}))
    setup(sandbox_world.subreddit("learnpython"))
    with pytest.raises(TargetUnavailable) as refused:
        gateway.submit("learnpython", TITLE, BODY)
    assert refused.value.reason == reason
    assert len(sandbox_world.submissions({"learnpython"})) == before
    assert len(submit_writes(sandbox_server)) == 1


def test_too_long_title_is_refused_before_any_request(
    sandbox_server: SandboxServer, gateway: PrawGateway
) -> None:
    with pytest.raises(TargetUnavailable) as refused:
        gateway.submit("learnpython", "x" * 301, BODY)
    assert refused.value.reason == "title_too_long"
    assert submit_writes(sandbox_server) == []


def test_reddits_too_long_answer_is_title_too_long(
    sandbox_server: SandboxServer, gateway: PrawGateway
) -> None:
    sandbox_server.faults.add("/api/submit", api_error="TOO_LONG")
    with pytest.raises(TargetUnavailable) as refused:
        gateway.submit("learnpython", TITLE, BODY)
    assert refused.value.reason == "title_too_long"


def test_ratelimit_carries_the_wait(sandbox_server: SandboxServer, gateway: PrawGateway) -> None:
    sandbox_server.faults.add("/api/submit", api_error="RATELIMIT", ratelimit_seconds=540)
    with pytest.raises(RateLimited) as limited:
        gateway.submit("learnpython", TITLE, BODY)
    assert limited.value.retry_after == 540


def test_a_5xx_after_the_write_is_never_retried(
    sandbox_world: World, sandbox_server: SandboxServer, gateway: PrawGateway
) -> None:
    sandbox_server.faults.add("/api/submit", status=503, after_write=True, times=3)
    with pytest.raises(WriteOutcomeUnknown):
        gateway.submit("learnpython", TITLE, BODY)
    mine = [p for p in sandbox_world.submissions({"learnpython"}) if p.author == DEMO_BOT]
    assert len(mine) == 1 and len(submit_writes(sandbox_server)) == 1
