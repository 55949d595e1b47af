"""Housekeeping against the sandbox: low-scored replies deleted and recorded, old items pruned."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from redditbot.config import Settings
from redditbot.domain import Comment
from redditbot.pipeline.housekeeping import Housekeeping
from redditbot.pipeline.listen import Listener
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store import queries
from redditbot.store.models import CommentRow, Event, PostedReply, ReplyJob, SelectionDecision


def housekeeping(gateway, sessions, clock, settings: Settings) -> Housekeeping:
    listener = Listener(gateway, sessions, account="bot", bot_username=DEMO_BOT,
                        subreddits=[s.name for s in settings.subreddits], clock=clock)  # fmt: skip
    return Housekeeping(gateway, sessions, settings, account="bot", clock=clock,
                        refresh=listener.refresh, release_stale_leases=lambda: 0)  # fmt: skip


def posted(world, sessions, clock, subreddit: str, score: int) -> PostedReply:
    target = world.comments({subreddit.lower()})[0]
    reply = "t1_" + world.add_comment(target.fullname, DEMO_BOT, "an answer")
    world.get(reply).score = score
    with sessions.begin() as session:
        job = ReplyJob(account="bot", target_fullname=target.fullname, subreddit=subreddit,
                       link_fullname=target.link_id, status="posted", created_at=clock(),
                       updated_at=clock())  # fmt: skip
        session.add(job)
        session.flush()
        row = PostedReply(
            job_id=job.id,
            account="bot",
            target_fullname=target.fullname,
            comment_fullname=reply,
            body="an answer",
            posted_at=clock(),
        )
        session.add(row)
    return row


def test_low_scored_replies_are_deleted_where_switched_on(
    world, gateway, sqlite_sessions, clock
) -> None:
    settings = Settings(
        housekeeping={"delete_below_score": 0},
        subreddits=[{"name": "learnpython"}, {"name": "gardening",
                                              "housekeeping": {"delete_below_score": -100}}],
    )  # fmt: skip
    bad = posted(world, sqlite_sessions, clock, "learnpython", score=-4)
    fine = posted(world, sqlite_sessions, clock, "learnpython", score=3)
    tolerated = posted(world, sqlite_sessions, clock, "gardening", score=-4)
    assert housekeeping(gateway, sqlite_sessions, clock, settings).delete_low_scored_replies() == 1
    assert world.get(bad.comment_fullname).deleted
    assert not world.get(fine.comment_fullname).deleted
    assert not world.get(tolerated.comment_fullname).deleted
    with sqlite_sessions() as session:
        row = session.get(PostedReply, bad.id)
        assert row.delete_reason == "low_score:-4" and row.deleted_at is not None
        assert session.scalars(select(Event.kind).where(Event.kind == "reply_deleted")).one()


def test_nothing_is_deleted_in_a_dry_run_subreddit(world, gateway, sqlite_sessions, clock):
    settings = Settings(housekeeping={"delete_below_score": 0},
                        subreddits=[{"name": "learnpython", "dry_run": True}])  # fmt: skip
    bad = posted(world, sqlite_sessions, clock, "learnpython", score=-4)  # from a live run before
    assert housekeeping(gateway, sqlite_sessions, clock, settings).delete_low_scored_replies() == 0
    assert not world.get(bad.comment_fullname).deleted


def test_old_replies_are_outside_the_window(world, gateway, sqlite_sessions, clock) -> None:
    settings = Settings(housekeeping={"delete_below_score": 0, "delete_window_hours": 1},
                        subreddits=[{"name": "learnpython"}])  # fmt: skip
    old = posted(world, sqlite_sessions, clock, "learnpython", score=-9)
    clock.advance(2 * 3600)
    assert housekeeping(gateway, sqlite_sessions, clock, settings).delete_low_scored_replies() == 0
    assert not world.get(old.comment_fullname).deleted


def test_prune_keeps_what_the_history_points_at(gateway, sqlite_sessions, clock) -> None:
    settings = Settings(housekeeping={"retention_days": 1})
    now = clock()
    old_ts = (now - timedelta(days=3)).timestamp()
    items = [Comment(id=i, subreddit="learnpython", link_id="t3_p", parent_id="t3_p", author="a",
                     body="old", created_utc=old_ts) for i in ("aa", "bb")]  # fmt: skip
    fresh = Comment(id="cc", subreddit="learnpython", link_id="t3_p", parent_id="t3_p",
                    author="a", body="new", created_utc=now.timestamp())  # fmt: skip
    with sqlite_sessions.begin() as session:
        queries.upsert_items(session, [*items, fresh], account="bot", bot_username=DEMO_BOT,
                             now=now)  # fmt: skip
        session.add(ReplyJob(account="bot", target_fullname="t1_bb", subreddit="learnpython",
                             link_fullname="t3_p", status="posted", created_at=now,
                             updated_at=now))  # fmt: skip
        session.add(
            SelectionDecision(
                account="bot",
                fullname="t1_aa",
                subreddit="learnpython",
                decision="ignored",
                reason="no_trigger",
                decided_at=now,
            )
        )
    assert housekeeping(gateway, sqlite_sessions, clock, settings).prune() == 1
    with sqlite_sessions() as session:
        assert set(session.scalars(select(CommentRow.fullname))) == {"t1_bb", "t1_cc"}
        assert session.scalars(select(SelectionDecision)).all() == []


def test_open_targets_are_refreshed(world, gateway, sqlite_sessions, clock) -> None:
    target = world.comments({"learnpython"})[0]
    with sqlite_sessions.begin() as session:
        queries.upsert_items(session, [Comment(id=target.id, subreddit="learnpython",
                             link_id=target.link_id, parent_id=target.parent_id,
                             author=target.author, body=target.body, created_utc=1.0)],
                             account="bot", bot_username=DEMO_BOT, now=clock())  # fmt: skip
        session.add(
            ReplyJob(
                account="bot",
                target_fullname=target.fullname,
                subreddit="learnpython",
                link_fullname=target.link_id,
                status="queued",
                created_at=clock(),
                updated_at=clock(),
            )
        )
    world.delete(target.fullname)
    settings = Settings(subreddits=[{"name": "learnpython"}])
    assert housekeeping(gateway, sqlite_sessions, clock, settings).refresh_open_targets() == 1
    with sqlite_sessions() as session:
        assert session.get(CommentRow, target.fullname).deleted
