"""Selection: every stored item gets one recorded decision; triggered ones become reply jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from redditbot.config import Settings
from redditbot.domain import Comment, Submission
from redditbot.moderation import Moderator
from redditbot.pipeline.select import Selector, in_quiet_hours
from redditbot.store import queries
from redditbot.store.models import (
    InboxRow,
    ModerationVerdictRow,
    OptOut,
    ReplyJob,
    SelectionDecision,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BOT = "helper_bot"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        selection={"triggers": {"keywords": ["pathlib"]}},
        subreddits=[{"name": "learnpython"}, {"name": "cooking"}],
        moderation={"toxicity": {"classifier": "wordlist"}},
    )


def selector(sessions, settings: Settings, now=NOW) -> Selector:
    moderators: dict[str, Moderator] = {}

    def moderator_for(sub: str) -> Moderator:
        return moderators.setdefault(sub, Moderator(settings.moderation_for(sub)))

    return Selector(sessions, settings, account="bot", bot_usernames=frozenset({BOT}),
                    moderator_for=moderator_for, clock=lambda: now)  # fmt: skip


def store(sessions, *items, inbox: dict[str, str] | None = None) -> None:
    with sessions.begin() as session:
        queries.upsert_items(session, items, account="bot", bot_username=BOT, now=NOW)
        for fullname, kind in (inbox or {}).items():
            session.add(InboxRow(account="bot", fullname=fullname, kind=kind, received_at=NOW))


POST = Submission(id="p1", subreddit="learnpython", author="op", title="Reading files",
                  created_utc=NOW.timestamp() - 600)  # fmt: skip
_counter = iter(range(1000, 100000))


def comment(body: str, author: str = "alice", sub: str = "learnpython", parent: str = "t3_p1",
            age_s: float = 60, **fields) -> Comment:  # fmt: skip
    ident = format(next(_counter), "x")
    return Comment(id=ident, subreddit=sub, link_id="t3_p1", parent_id=parent, author=author,
                   body=body, created_utc=NOW.timestamp() - age_s, **fields)  # fmt: skip


def decisions(sessions) -> dict[str, SelectionDecision]:
    with sessions() as session:
        return {d.fullname: d for d in session.scalars(select(SelectionDecision))}


def jobs(sessions) -> dict[str, ReplyJob]:
    with sessions() as session:
        return {j.target_fullname: j for j in session.scalars(select(ReplyJob))}


def test_every_item_gets_one_recorded_decision(sqlite_sessions, settings) -> None:
    items = [POST, comment("how do I use pathlib?"), comment("thanks!"),
             comment("pathlib rocks", sub="elsewhere"), comment("pathlib", author=BOT),
             comment("pathlib is old news", age_s=3 * 86400)]  # fmt: skip
    store(sqlite_sessions, *items)
    assert selector(sqlite_sessions, settings).run_once() == len(items)
    assert selector(sqlite_sessions, settings).run_once() == 0  # decided once, never again
    got = {
        name: (d.decision, d.trigger or d.reason) for name, d in decisions(sqlite_sessions).items()
    }
    assert got == {
        "t3_p1": ("ignored", "no_trigger"),
        items[1].fullname: ("queued", "keyword:pathlib"),
        items[2].fullname: ("ignored", "no_trigger"),
        items[3].fullname: ("ignored", "unwatched_subreddit"),
        items[4].fullname: ("ignored", "own"),
        items[5].fullname: ("ignored", "too_old"),
    }
    assert set(jobs(sqlite_sessions)) == {items[1].fullname}


def test_mentions_and_replies_to_the_bot_are_triggers(sqlite_sessions, settings) -> None:
    mine = comment("my earlier answer", author=BOT)
    reply = comment("but why?", parent=mine.fullname)
    mention = comment("u/helper_bot what do you think", sub="elsewhere")
    store(sqlite_sessions, POST, mine, reply, mention,
          inbox={mention.fullname: "username_mention"})  # fmt: skip
    selector(sqlite_sessions, settings).run_once()
    found = jobs(sqlite_sessions)
    assert found[reply.fullname].trigger == "reply_to_bot"
    assert found[mention.fullname].trigger == "mention"  # summoned: even outside watched subs
    assert found[mention.fullname].status == "queued"


def test_opt_out_is_honoured_until_opt_in(sqlite_sessions, settings) -> None:
    store(sqlite_sessions, POST, comment("!optout please", author="bob", age_s=300))
    selector(sqlite_sessions, settings).run_once()
    with sqlite_sessions() as session:
        assert session.get(OptOut, "bob").opted_out
    later = comment("pathlib question", author="bob", age_s=200)
    store(sqlite_sessions, later)
    selector(sqlite_sessions, settings).run_once()
    job = jobs(sqlite_sessions)[later.fullname]
    assert job.status == "skipped" and job.reason.startswith("input:opted_out")
    store(sqlite_sessions, comment("!optin", author="bob", age_s=100))
    again = comment("another pathlib question", author="bob", age_s=50)
    store(sqlite_sessions, again)
    selector(sqlite_sessions, settings).run_once()
    assert jobs(sqlite_sessions)[again.fullname].status == "queued"


def test_input_gate_refusals_are_recorded_with_the_verdict(sqlite_sessions, settings) -> None:
    bot_comment = comment("pathlib!", author="AutoModerator")
    store(sqlite_sessions, POST, bot_comment)
    selector(sqlite_sessions, settings).run_once()
    job = jobs(sqlite_sessions)[bot_comment.fullname]
    assert (job.status, job.reason) == ("skipped", "input:bot:known:AutoModerator")
    with sqlite_sessions() as session:
        verdict = session.scalars(select(ModerationVerdictRow)).one()
    assert verdict.gate == "input" and verdict.decision == "reject"
    assert any(c["name"] == "bot" and not c["passed"] for c in verdict.checks)


def test_a_hostile_target_is_skipped_with_its_category_and_reason(sqlite_sessions, settings):
    hostile = comment(
        "Your pathlib answer is wrong. I know where you live and I'll hurt your kids."
    )
    friendly = comment("how do I use pathlib with my brother's idiot-proof script?")
    store(sqlite_sessions, POST, hostile, friendly)
    selector(sqlite_sessions, settings).run_once()
    found, decided = jobs(sqlite_sessions), decisions(sqlite_sessions)
    assert found[friendly.fullname].status == "queued" and decided[friendly.fullname].reason is None
    job = found[hostile.fullname]
    assert job.status == "skipped" and job.reason.startswith("input:hostile:threat:")
    assert decided[hostile.fullname].reason == job.reason
    with sqlite_sessions() as session:
        verdict = session.scalars(
            select(ModerationVerdictRow).where(ModerationVerdictRow.decision == "reject")
        ).one()
    [check] = [c for c in verdict.checks if c["name"] == "hostile"]
    assert check["category"] == "threat" and check["score"] >= 0.7 and not check["passed"]


def test_declining_hostile_targets_can_be_turned_off(sqlite_sessions, settings):
    lenient = Settings(
        selection={"triggers": {"keywords": ["pathlib"]}},
        subreddits=[{"name": "learnpython", "moderation": {"input": {"decline_hostile": False}}}],
        moderation={"toxicity": {"classifier": "wordlist"}},
    )
    hostile = comment(
        "Your pathlib answer is wrong. I know where you live and I'll hurt your kids."
    )
    store(sqlite_sessions, POST, hostile)
    selector(sqlite_sessions, lenient).run_once()
    assert jobs(sqlite_sessions)[hostile.fullname].status == "queued"


def test_caps_per_subreddit_hour(sqlite_sessions, settings) -> None:
    capped = settings.model_copy(
        update={
            "selection": settings.selection.model_copy(
                update={"caps": settings.selection.caps.model_copy(update={"per_hour": 2})}
            )
        }
    )
    items = [comment(f"pathlib {i}", author=f"user{i}") for i in range(3)]
    store(sqlite_sessions, POST, *items)
    selector(sqlite_sessions, capped).run_once()
    statuses = [(jobs(sqlite_sessions)[i.fullname].status, jobs(sqlite_sessions)[i.fullname].reason)
                for i in items]  # fmt: skip
    assert statuses == [("queued", None), ("queued", None), ("skipped", "cap:per_hour")]


def test_quiet_hours_leave_items_undecided(sqlite_sessions) -> None:
    quiet = Settings(selection={"quiet_hours": "11:00-13:00", "triggers": {"keywords": ["x"]}},
                     subreddits=[{"name": "learnpython"}])  # fmt: skip
    store(sqlite_sessions, POST, comment("x"))
    assert selector(sqlite_sessions, quiet).run_once() == 0
    assert selector(sqlite_sessions, quiet, now=NOW + timedelta(hours=2)).run_once() == 2


@pytest.mark.parametrize(
    ("window", "hour", "quiet"),
    [("23:00-07:00", 2, True), ("23:00-07:00", 12, False), ("09:00-17:00", 12, True),
     ("09:00-17:00", 17, False), ("", 3, False)],
)  # fmt: skip
def test_quiet_hours_window(window: str, hour: int, quiet: bool) -> None:
    assert in_quiet_hours(window, NOW.replace(hour=hour)) is quiet


def test_a_mention_is_seen_in_the_text_before_the_inbox_says_so(sqlite_sessions, settings) -> None:
    """The subreddit feed can store a mention before the inbox poll flags it: no race."""
    early = comment("hey /u/Helper_Bot, any idea?")
    store(sqlite_sessions, POST, early, comment("u/helper_botany is someone else"))
    selector(sqlite_sessions, settings).run_once()
    found = jobs(sqlite_sessions)
    assert list(found) == [early.fullname] and found[early.fullname].trigger == "mention"
