"""The listener against the sandbox Reddit over real HTTP with real PRAW."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from redditbot.pipeline.listen import Listener
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store.models import CommentRow, Event, InboxRow, PollCursor, SubmissionRow
from tests.pipeline.conftest import expire_leases

SUBS = ["learnpython", "Cooking", "printSF", "gardening", "personalfinance"]


def make_listener(gateway, sessions, clock, **options) -> Listener:
    return Listener(gateway, sessions, account="bot", bot_username=DEMO_BOT, subreddits=SUBS,
                    clock=clock, **options)  # fmt: skip


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def add_comments(world, n: int, author: str = "someone") -> list[str]:
    thread = world.submissions({"learnpython"})[0].fullname
    return ["t1_" + world.add_comment(thread, author, f"new comment {i}") for i in range(n)]


def test_first_poll_stores_newest_page_and_sets_cursors(world, gateway, sessions, clock) -> None:
    listener = make_listener(gateway, sessions, clock)
    stored = listener.run_once()
    assert count(sessions, SubmissionRow) == len(world.submissions())  # 47 < one page
    with sessions() as session:
        cursors = {c.feed: c for c in session.scalars(select(PollCursor))}
        comments = set(session.scalars(select(CommentRow.fullname)))
        inbox = set(session.scalars(select(InboxRow.fullname)))
    newest_page = sorted(world.comments(), key=lambda c: c.seq, reverse=True)[:100]
    assert {c.fullname for c in newest_page} | inbox == comments  # one page + the inbox
    assert stored == count(sessions, SubmissionRow) + 100 + len(inbox)
    newest = max(world.comments(), key=lambda c: c.created_utc)
    assert cursors["comments:" + "+".join(sorted(SUBS, key=str.lower))].last_fullname == (
        newest.fullname
    )
    assert listener.requests == 4  # submissions, comments, inbox, and marking the inbox read


def test_new_items_are_stored_once_across_pages_and_restarts(world, gateway, sessions, clock):
    make_listener(gateway, sessions, clock).run_once()
    before = count(sessions, CommentRow)
    created = add_comments(world, 250)
    restarted = make_listener(gateway, sessions, clock)  # a new process: only the store remains
    assert restarted.run_once() == 250
    assert count(sessions, CommentRow) == before + 250
    with sessions() as session:
        stored = set(session.scalars(select(CommentRow.fullname)))
    assert set(created) <= stored
    assert make_listener(gateway, sessions, clock).run_once() == 0  # nothing re-processed


def test_subreddits_are_joined_into_one_request_per_feed(world, gateway, sessions, clock):
    listener = make_listener(gateway, sessions, clock)
    listener.run_once()
    add_comments(world, 30)
    listener.requests = 0
    listener.run_once()
    assert listener.requests == 3  # 5 subreddits, still one request per feed


def test_a_gap_the_listing_cannot_fill_is_recorded(world, gateway, sessions, clock) -> None:
    listener = make_listener(gateway, sessions, clock, max_pages=2)
    listener.run_once()
    add_comments(world, 250)  # more than two pages
    assert listener.run_once() == 200
    with sessions() as session:
        gap = session.scalars(select(Event).where(Event.kind == "poll_gap")).one()
    assert "comments:" in gap.message and gap.data["cursor"]


def test_own_comments_are_recognised(world, gateway, sessions, clock) -> None:
    listener = make_listener(gateway, sessions, clock)
    listener.run_once()
    mine = add_comments(world, 1, author=DEMO_BOT)[0]
    theirs = add_comments(world, 1)[0]
    listener.run_once()
    with sessions() as session:
        assert session.get(CommentRow, mine).bot_account == "bot"
        assert session.get(CommentRow, theirs).bot_account is None


def test_mentions_are_stored_and_marked_read(world, sandbox, gateway, sessions, clock) -> None:
    thread = world.submissions({"cooking"})[0].fullname
    mention = "t1_" + world.mention(DEMO_BOT, thread, "curious_cook", "what temperature?")
    listener = make_listener(gateway, sessions, clock)
    listener.run_once()
    with sessions() as session:
        row = session.get(InboxRow, ("bot", mention))
        assert row.kind == "username_mention"
        assert "what temperature?" in session.get(CommentRow, mention).body
    assert any(w.path.startswith("/api/read_message") for w in sandbox.writes.records)
    assert gateway.inbox() == []


def test_inbox_items_of_a_dry_run_subreddit_stay_unread(world, sandbox, gateway, sessions, clock):
    """Marking read is a write: not for a subreddit in dry run (stored all the same, once)."""
    cooking = world.submissions({"cooking"})[0].fullname
    python = world.submissions({"learnpython"})[0].fullname
    dry = "t1_" + world.mention(DEMO_BOT, cooking, "curious_cook", "what temperature?")
    live = "t1_" + world.mention(DEMO_BOT, python, "pythonista", "which library?")
    listener = make_listener(gateway, sessions, clock, dry_run=lambda sub: sub.lower() == "cooking")
    listener.run_once()
    listener.run_once()  # the unread one comes again, and is not stored twice
    marked = [w.form["id"] for w in sandbox.writes.records if w.path.startswith("/api/read_")]
    assert marked and all(live in ids.split(",") and dry not in ids for ids in marked)
    assert dry in [item.comment.fullname for item in gateway.inbox()]
    with sessions() as session:
        assert session.scalar(select(func.count()).where(InboxRow.fullname == dry)) == 1


def test_edits_and_deletions_update_stored_rows(world, gateway, sessions, clock) -> None:
    listener = make_listener(gateway, sessions, clock)
    listener.run_once()
    target = add_comments(world, 1)[0]
    listener.run_once()
    world.delete(target)
    listener.refresh([target])
    with sessions() as session:
        row = session.get(CommentRow, target)
        assert row.deleted and row.body == "[deleted]"


def test_server_errors_back_off_and_never_stop_the_listener(
    world, sandbox, gateway, sessions, clock
) -> None:
    listener = make_listener(gateway, sessions, clock)
    listener.run_once()
    add_comments(world, 5)
    sandbox.faults.add("/r/", status=503, times=6)  # prawcore tries each listing 3 times
    assert listener.run_once() == 0
    with sessions() as session:
        failures = session.scalars(select(Event).where(Event.kind == "poll_failed")).all()
    assert len(failures) == 2 and all("503" in e.message or "Server" in e.message for e in failures)
    assert listener.run_once() == 0  # still backing off: no request is made
    clock.advance(3600)
    assert listener.run_once() == 5  # recovered, nothing lost


@pytest.mark.parametrize("status", [429])
def test_rate_limited_feed_waits_at_least_retry_after(
    world, sandbox, gateway, sessions, clock, status
) -> None:
    listener = make_listener(gateway, sessions, clock)
    sandbox.faults.add("/r/", status=status, retry_after=120, times=1)
    listener.run_once()
    backoff = next(b for feed, b in listener.backoff.items() if b.failures)
    assert (backoff.until - clock()).total_seconds() >= 120


def test_only_one_instance_polls_a_feed_until_its_lease_expires(world, gateway, sessions, clock):
    first = make_listener(gateway, sessions, clock, owner="instance-a")
    second = make_listener(gateway, sessions, clock, owner="instance-b")
    first.run_once()
    add_comments(world, 10)
    assert second.run_once() == 0 and second.requests == 0  # the feeds are leased to a
    expire_leases(sessions)  # instance a died: its leases run out
    assert second.run_once() == 10
