"""Start-up after a crash: jobs left in ``posting`` are settled with Reddit before anything runs.

The dead process's leases have not run out yet, so the post stage's own (stale-only)
reconciliation would not touch them for minutes: only ``Bot.prepare`` settles them at once
(SQLite: the instance lock says their owner is dead).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from redditbot.app import Bot
from redditbot.config import load_settings
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store.models import PostJob, ReplyJob
from tests.daemon.conftest import write_config

REPLY = "Check the label twice, then test a small batch first."
TITLE = "What small script saved you the most time this year?"


def left_in_posting(session, model, **fields) -> int:
    """A job as a process killed right after its request leaves it: ``posting``, still leased."""
    now = datetime.now(UTC)
    job = model(status="posting", attempts=1, lease_owner="dead-host:123:abcdef",
                lease_expires_at=now + timedelta(minutes=5), created_at=now, updated_at=now,
                **fields)  # fmt: skip
    session.add(job)
    session.flush()
    return job.id


def test_prepare_settles_what_a_crash_left_in_posting(tmp_path, live_sandbox, fake_openai):
    world = live_sandbox.world
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url, db_url=db_url,
                          openai_url=fake_openai.url)  # fmt: skip
    sent, unsent = (c.fullname for c in world.comments({"learnpython"})[:2])
    reply = "t1_" + world.add_comment(sent, DEMO_BOT, REPLY)  # it got through, then the crash
    post = "t3_" + world.add_submission("learnpython", DEMO_BOT, TITLE, "Mine renames photos.")
    bot = Bot(load_settings(config))
    with bot.sessions.begin() as session:
        common = {"account": bot.account, "subreddit": "learnpython"}
        reply_jobs = {
            target: left_in_posting(session, ReplyJob, target_fullname=target, reply_text=REPLY,
                                    link_fullname=world.get(target).link_id, **common)
            for target in (sent, unsent)
        }  # fmt: skip
        post_job = left_in_posting(session, PostJob, slot="2026-01-01T00:00", title=TITLE,
                                   body="Mine renames photos.", **common)  # fmt: skip
    live_sandbox.writes.clear()
    bot.prepare()
    with bot.sessions() as session:
        jobs = {t: session.get(ReplyJob, i) for t, i in reply_jobs.items()}
        posted = session.get(PostJob, post_job)
        owners = set(session.scalars(select(ReplyJob.lease_owner)))
    bot.stop()
    assert (jobs[sent].status, jobs[sent].reason) == ("posted", None)
    assert (jobs[unsent].status, jobs[unsent].reason) == ("approved", "reconciled_not_posted")
    assert (posted.status, posted.submission_fullname, posted.reconciled) == ("posted", post, True)
    assert owners == {None}  # the dead process's leases are gone
    assert live_sandbox.writes.records == []  # settled by reading, nothing sent again
    assert [c.fullname for c in world.comments_by(DEMO_BOT) if c.parent_id == sent] == [reply]


def test_start_loads_moderation_models_before_the_judging_stages_run(
    tmp_path, live_sandbox, fake_openai, monkeypatch
):
    """A first load inside the select or moderate stage's transaction would hold SQLite's
    write lock for its seconds (the listener then fails with "database is locked")."""
    from redditbot.moderation import Moderator

    warmed: list[Moderator] = []
    monkeypatch.setattr(Moderator, "warm_up", lambda self: warmed.append(self))
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url,
                          db_url=f"sqlite:///{tmp_path / 'bot.db'}",
                          openai_url=fake_openai.url)  # fmt: skip
    for stages, expected in ((("listen",), False), (("select",), True), (("moderate",), True)):
        warmed.clear()
        bot = Bot(load_settings(config))
        bot.start(stages)
        bot.stop()
        assert bool(warmed) is expected, stages
        if expected:
            subreddits = {s.name.lower() for s in bot.settings.subreddits}
            assert {id(m) for m in warmed} == {id(bot.moderator_for(s)) for s in subreddits}
