"""The sandbox through real PRAW 8 / prawcore 4 over HTTP on 127.0.0.1."""

from __future__ import annotations

import praw
import prawcore
import pytest
from praw.exceptions import RedditAPIException
from praw.models import MoreComments

from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    ManualClock,
    SandboxServer,
    TreeOptions,
    World,
)


def _bot_replies_under(world: World, parent: str) -> list[str]:
    return [r.fullname for r in world.replies_to(parent) if r.author == DEMO_BOT]


def _fresh_post(world: World, sub: str = "learnpython") -> str:
    return f"t3_{world.add_submission(sub, 'quiet_otter1', 'A new question', 'Help me')}"


# ---------------------------------------------------------------------- auth


def test_password_grant_logs_in_as_the_demo_bot(sandbox_reddit: praw.Reddit) -> None:
    assert sandbox_reddit.user.me().name == DEMO_BOT


def test_wrong_password_is_invalid_grant(sandbox_server: SandboxServer) -> None:
    kwargs = sandbox_server.praw_kwargs(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_BOT, "wrong")
    with pytest.raises(prawcore.OAuthException, match="invalid_grant"):
        praw.Reddit(**kwargs).user.me()


def test_unknown_client_is_rejected(sandbox_server: SandboxServer) -> None:
    kwargs = sandbox_server.praw_kwargs("nope", "nope", DEMO_BOT, "sandbox-password")
    with pytest.raises(prawcore.ResponseException):
        praw.Reddit(**kwargs).user.me()


def test_expired_token_is_refreshed_transparently(
    sandbox_reddit: praw.Reddit, sandbox_server: SandboxServer, sandbox_clock: ManualClock
) -> None:
    sandbox_reddit.user.me()
    sandbox_clock.advance(3601)  # server-side expiry; prawcore still believes the token valid
    assert sandbox_reddit.user.me(use_cache=False).name == DEMO_BOT
    assert len(sandbox_server.oauth.tokens) == 2


def test_refresh_token_grant(sandbox_server: SandboxServer) -> None:
    refresh = sandbox_server.issue_refresh_token(DEMO_CLIENT_ID, DEMO_BOT, scope="identity read")
    reddit = praw.Reddit(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        refresh_token=refresh,
        user_agent="sandbox:test:0.1 (by /u/redditbot)",
        oauth_url=sandbox_server.url,
        reddit_url=sandbox_server.url,
        short_url=sandbox_server.url,
        check_for_updates=False,
    )
    assert reddit.user.me().name == DEMO_BOT


# ---------------------------------------------------------------------- listings


def test_new_is_newest_first_with_after_cursor(
    sandbox_reddit: praw.Reddit, sandbox_world: World
) -> None:
    expected = [p.id for p in sandbox_world.submissions({"cooking"})]
    first = [s.id for s in sandbox_reddit.subreddit("Cooking").new(limit=4)]
    everything = [s.id for s in sandbox_reddit.subreddit("Cooking").new(limit=None)]
    assert first == expected[:4]
    assert everything == expected  # PRAW pages through with after=


def test_before_cursor_returns_only_newer_items(
    sandbox_reddit: praw.Reddit, sandbox_world: World
) -> None:
    newest = sandbox_world.submissions({"gardening"})[0]
    added = [_fresh_post(sandbox_world, "gardening") for _ in range(3)]
    got = sandbox_reddit.subreddit("gardening").new(limit=100, params={"before": newest.fullname})
    assert [s.fullname for s in got] == list(reversed(added))


def test_multi_subreddit_comments(sandbox_reddit: praw.Reddit, sandbox_world: World) -> None:
    expected = [c.id for c in sandbox_world.comments({"printsf", "cooking"})][:30]
    got = [c.id for c in sandbox_reddit.subreddit("printSF+Cooking").comments(limit=30)]
    assert got == expected
    assert {
        c.subreddit.display_name
        for c in sandbox_reddit.subreddit("printSF+Cooking").comments(limit=30)
    } == {"printSF", "Cooking"}


def test_unknown_subreddit_redirects_like_reddit(sandbox_reddit: praw.Reddit) -> None:
    with pytest.raises(prawcore.Redirect):
        list(sandbox_reddit.subreddit("doesnotexist").new(limit=5))


def test_user_comments_show_the_bots_reply(
    sandbox_reddit: praw.Reddit, sandbox_world: World
) -> None:
    parent = _fresh_post(sandbox_world)
    comment = sandbox_reddit.submission(parent[3:]).reply("my answer")
    mine = list(sandbox_reddit.redditor(DEMO_BOT).comments.new(limit=5))
    assert mine[0].id == comment.id
    assert mine[0].parent_id == parent


# ---------------------------------------------------------------------- trees and info


def _wide_and_deep_thread(world: World) -> str:
    """30 top-level comments, each with a reply, and one chain 12 comments deep."""
    post = _fresh_post(world)
    for n in range(30):
        top = world.add_comment(post, f"user{n % 7}", f"top-level comment {n}")
        world.add_comment(f"t1_{top}", "tidy_heron3", f"a reply to {n}")
    parent = post
    for n in range(12):
        parent = f"t1_{world.add_comment(parent, f'user{n % 2}', f'chain step {n}')}"
    return post


def test_comment_tree_with_more_and_continue_thread(
    sandbox_world: World, prawcore_retry_sleeps: list[float]
) -> None:
    post = _wide_and_deep_thread(sandbox_world)
    with SandboxServer(sandbox_world, tree=TreeOptions(max_comments=40, max_depth=8)) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        reddit = praw.Reddit(
            **server.praw_kwargs(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_BOT, "sandbox-password")
        )
        reddit.config.ratelimit_seconds = 0
        submission = reddit.submission(post[3:])
        submission.comment_sort = "new"
        first = submission.comments.list()
        mores = [c for c in first if isinstance(c, MoreComments)]
        assert {m.id == "_" for m in mores} == {True, False}  # both kinds of "more"
        assert len([c for c in first if not isinstance(c, MoreComments)]) == 40
        assert submission.comments.replace_more(limit=None) == []
        ids = {c.id for c in submission.comments.list()}
    assert ids == {c.id for c in sandbox_world.descendants(post)}
    assert len(ids) == 72


def test_info_shows_deleted_and_removed(sandbox_reddit: praw.Reddit, sandbox_world: World) -> None:
    a, b = sandbox_world.comments()[:2]
    sandbox_world.delete(a.fullname)
    sandbox_world.remove(b.fullname)
    got = {c.id: c for c in sandbox_reddit.info(fullnames=[a.fullname, b.fullname])}
    assert (got[a.id].body, got[a.id].author) == ("[deleted]", None)
    assert got[b.id].body == "[removed]"


def test_info_after_an_account_is_deleted(
    sandbox_reddit: praw.Reddit, sandbox_world: World, sandbox_server: SandboxServer
) -> None:
    """As on Reddit: the text stays readable, the author is [deleted], the account is gone."""
    post = _fresh_post(sandbox_world)
    target = f"t1_{sandbox_world.add_comment(post, 'leaving_user', 'my words stay up')}"
    sandbox_world.delete_account("leaving_user")
    [comment] = sandbox_reddit.info(fullnames=[target])
    assert (comment.body, comment.author) == ("my words stay up", None)
    kwargs = sandbox_server.praw_kwargs(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "leaving_user", "password"
    )
    with pytest.raises(prawcore.OAuthException):
        praw.Reddit(**kwargs).user.me()


# ---------------------------------------------------------------------- replying


def test_reply_creates_a_comment_and_logs_the_write(
    sandbox_reddit: praw.Reddit, sandbox_world: World, sandbox_server: SandboxServer
) -> None:
    parent = _fresh_post(sandbox_world)
    comment = sandbox_reddit.submission(parent[3:]).reply("Have you tried a debugger?")
    assert _bot_replies_under(sandbox_world, parent) == [comment.fullname]
    assert sandbox_world.get(comment.fullname).body == "Have you tried a debugger?"
    record = sandbox_server.writes[-1]
    assert (record.method, record.path, record.account) == ("POST", "/api/comment/", DEMO_BOT)
    assert record.form["thing_id"] == parent and record.form["api_type"] == "json"
    assert (record.outcome, record.created) == ("created", comment.fullname)


@pytest.mark.parametrize(
    ("spoil", "error_type"),
    [
        (World.lock, "THREAD_LOCKED"),
        (World.archive, "TOO_OLD"),
        (World.delete, "DELETED_COMMENT"),
        (World.remove, "DELETED_COMMENT"),
    ],
)
def test_reply_errors_arrive_as_api_exceptions(
    sandbox_reddit: praw.Reddit, sandbox_world: World, spoil, error_type: str
) -> None:
    post = _fresh_post(sandbox_world)
    target = f"t1_{sandbox_world.add_comment(post, 'tidy_heron3', 'a comment')}"
    spoil(sandbox_world, target if error_type.startswith("DELETED") else post)
    with pytest.raises(RedditAPIException) as caught:
        sandbox_reddit.comment(target[3:]).reply("hello")
    assert caught.value.items[0].error_type == error_type
    assert _bot_replies_under(sandbox_world, target) == []


def test_scripted_ratelimit_error(
    sandbox_reddit: praw.Reddit, sandbox_server: SandboxServer, sandbox_world: World
) -> None:
    sandbox_server.faults.add("/api/comment", api_error="RATELIMIT", ratelimit_seconds=540.0)
    with pytest.raises(RedditAPIException) as caught:
        sandbox_reddit.submission(_fresh_post(sandbox_world)[3:]).reply("hi")
    assert caught.value.items[0].error_type == "RATELIMIT"
    assert "9 minutes" in caught.value.items[0].message
    assert sandbox_server.writes[-1].outcome == "fault:RATELIMIT"


def test_banned_user_gets_forbidden(sandbox_reddit: praw.Reddit, sandbox_world: World) -> None:
    sandbox_world.ban(DEMO_BOT, "Cooking")
    with pytest.raises(prawcore.Forbidden):
        sandbox_reddit.submission(_fresh_post(sandbox_world, "Cooking")[3:]).reply("hi")


def test_delete_own_comment(sandbox_reddit: praw.Reddit, sandbox_world: World) -> None:
    comment = sandbox_reddit.submission(_fresh_post(sandbox_world)[3:]).reply("oops")
    comment.delete()
    assert sandbox_world.get(comment.fullname).deleted
    assert sandbox_reddit.comment(comment.id).body == "[deleted]"


# ---------------------------------------------------------------------- failures


def test_503_is_retried_by_prawcore(
    sandbox_reddit: praw.Reddit,
    sandbox_server: SandboxServer,
    sandbox_world: World,
    prawcore_retry_sleeps: list[float],
) -> None:
    parent = _fresh_post(sandbox_world)
    sandbox_server.faults.add("/api/comment", status=503, times=1)
    comment = sandbox_reddit.submission(parent[3:]).reply("second try")
    assert [r.outcome for r in sandbox_server.writes] == ["fault:503", "created"]
    assert _bot_replies_under(sandbox_world, parent) == [comment.fullname]
    assert len(prawcore_retry_sleeps) == 1


def test_server_error_after_the_write_creates_the_comment_twice(
    sandbox_reddit: praw.Reddit, sandbox_server: SandboxServer, sandbox_world: World
) -> None:
    parent = _fresh_post(sandbox_world)
    sandbox_server.faults.add("/api/comment", status=502, after_write=True)
    sandbox_reddit.submission(parent[3:]).reply("only once, please")
    assert len(_bot_replies_under(sandbox_world, parent)) == 2
    assert len(sandbox_server.writes.created()) == 2


def test_lost_response_after_the_write_creates_the_comment_twice(
    sandbox_reddit: praw.Reddit, sandbox_server: SandboxServer, sandbox_world: World
) -> None:
    parent = _fresh_post(sandbox_world)
    sandbox_server.faults.add("/api/comment", drop=True, after_write=True)
    sandbox_reddit.submission(parent[3:]).reply("hello?")
    assert [r.outcome for r in sandbox_server.writes] == ["fault:dropped", "created"]
    assert len(_bot_replies_under(sandbox_world, parent)) == 2


def test_persistent_522_gives_up_after_three_attempts(
    sandbox_reddit: praw.Reddit, sandbox_server: SandboxServer, prawcore_retry_sleeps: list[float]
) -> None:
    sandbox_server.faults.add("/r/", status=522, times=5)
    with pytest.raises(prawcore.ServerError):
        list(sandbox_reddit.subreddit("Cooking").new(limit=1))
    assert len(sandbox_server.faults.fired) == 3
    assert len(prawcore_retry_sleeps) == 2


def test_dropped_connection_is_retried(
    sandbox_reddit: praw.Reddit, sandbox_server: SandboxServer
) -> None:
    sandbox_server.faults.add("/r/Cooking/new", drop=True, times=2)
    assert len(list(sandbox_reddit.subreddit("Cooking").new(limit=3))) == 3
    sandbox_server.faults.add("/r/Cooking/new", drop=True, times=3)
    with pytest.raises(prawcore.RequestException):
        list(sandbox_reddit.subreddit("Cooking").new(limit=3))


def test_429_is_not_retried(sandbox_reddit: praw.Reddit, sandbox_server: SandboxServer) -> None:
    sandbox_server.faults.add("/api/v1/me", status=429, retry_after=7)
    with pytest.raises(prawcore.TooManyRequests) as caught:
        sandbox_reddit.user.me()
    assert caught.value.retry_after == "7"
    assert "whoa there, pardner!" in caught.value.message


# ---------------------------------------------------------------------- inbox


def test_mentions_and_unread(sandbox_reddit: praw.Reddit, sandbox_world: World) -> None:
    parent = _fresh_post(sandbox_world)
    mention = sandbox_world.mention(DEMO_BOT, parent, "curious_fern9", "what do you think?")
    assert next(iter(sandbox_reddit.inbox.mentions(limit=1))).id == mention
    unread = list(sandbox_reddit.inbox.unread(limit=None))
    assert mention in [item.id for item in unread]
    sandbox_reddit.inbox.mark_read(unread)
    assert list(sandbox_reddit.inbox.unread(limit=None)) == []


def test_a_long_inbox_pages_without_repeats(
    sandbox_reddit: praw.Reddit, sandbox_world: World
) -> None:
    parent = _fresh_post(sandbox_world)
    for n in range(130):
        sandbox_world.mention(DEMO_BOT, parent, f"user{n % 9}", f"question {n}")
    unread = [item.id for item in sandbox_reddit.inbox.unread(limit=None)]
    assert len(unread) == len(set(unread)) == len(sandbox_world.inbox(DEMO_BOT))
