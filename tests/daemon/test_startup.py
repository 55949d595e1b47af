"""Start-up after a crash: jobs left in ``posting`` are settled with Reddit before anything runs.

The dead process's leases have not run out yet, so the post stage's own (stale-only)
reconciliation would not touch them for minutes: only ``Bot.prepare`` settles them at once
(SQLite: the instance lock says their owner is dead).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
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
    """A first load inside the select or a moderate stage's transaction would hold SQLite's
    write lock for its seconds (the listener then fails with "database is locked")."""
    from redditbot.moderation import Moderator

    warmed: list[Moderator] = []
    monkeypatch.setattr(Moderator, "warm_up", lambda self: warmed.append(self))
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url,
                          db_url=f"sqlite:///{tmp_path / 'bot.db'}",
                          openai_url=fake_openai.url)  # fmt: skip
    cases = [(("listen",), False), (("select",), True), (("moderate",), True)]
    cases += [(("moderate_posts",), True), (("write_posts", "send_posts"), False)]
    for stages, expected in cases:
        warmed.clear()
        bot = Bot(load_settings(config))
        bot.start(stages)
        bot.stop()
        assert bool(warmed) is expected, stages
        if expected:
            subreddits = {s.name.lower() for s in bot.settings.subreddits}
            assert {id(m) for m in warmed} == {id(bot.moderator_for(s)) for s in subreddits}


def leased_job(session, model, status: str, owner: str, **fields) -> int:
    """A job in ``status`` whose lease ``owner`` holds for five more minutes."""
    now = datetime.now(UTC)
    job = model(status=status, lease_owner=owner, lease_expires_at=now + timedelta(minutes=5),
                created_at=now, updated_at=now, **fields)  # fmt: skip
    session.add(job)
    session.flush()
    return job.id


def one_of_each(session, account: str, owner: str, tag: int) -> dict[tuple[type, str], int]:
    """A reply job and a post job in each of generating, approved and posting, all leased."""
    common = {"account": account, "subreddit": "learnpython"}
    ids = {}
    for n, status in enumerate(("generating", "approved", "posting")):
        ids[ReplyJob, status] = leased_job(session, ReplyJob, status, owner, reply_text=REPLY,
                                           target_fullname=f"t1_{tag}x{n}", link_fullname="t3_x",
                                           **common)  # fmt: skip
        ids[PostJob, status] = leased_job(session, PostJob, status, owner, title=TITLE,
                                          slot=f"2026-0{tag}-0{n + 1}T00:00", body="A body.",
                                          **common)  # fmt: skip
    return ids


def states(bot, ids) -> dict[tuple[type, str], tuple]:
    with bot.sessions() as session:
        return {key: (session.get(key[0], i).status, session.get(key[0], i).reason,
                      session.get(key[0], i).lease_owner) for key, i in ids.items()}  # fmt: skip


def test_start_up_and_shutdown_release_the_leases_of_every_kind_of_job(
    tmp_path, live_sandbox, fake_openai
):
    """One lease release for replies and original posts alike: at start-up on SQLite a dead
    process's leases, on shutdown our own; ``posting`` is left for reconciliation."""
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url,
                          db_url=f"sqlite:///{tmp_path / 'bot.db'}",
                          openai_url=fake_openai.url)  # fmt: skip
    bot = Bot(load_settings(config))
    with bot.sessions.begin() as session:
        dead = one_of_each(session, bot.account, "dead-host:123:abcdef", 1)
    bot.build_stages()
    bot.senders = ()  # reconciliation is another test's: here `posting` must stay as it is
    bot.release_dead_job_leases()
    bot.release_stale_leases(everyone=True)
    for model in (ReplyJob, PostJob):
        after = states(bot, dead)
        assert after[model, "generating"] == ("queued", "lease_released", None)
        assert after[model, "approved"] == ("approved", None, None)
        assert after[model, "posting"] == ("posting", None, "dead-host:123:abcdef")
    with bot.sessions.begin() as session:
        ours = one_of_each(session, bot.account, bot.owner, 2)
    bot.stop()
    for model in (ReplyJob, PostJob):
        after = states(bot, ours)
        assert after[model, "generating"] == ("queued", "released_on_shutdown", None)
        assert after[model, "approved"] == ("approved", None, None)
        assert after[model, "posting"] == ("posting", None, bot.owner)


def test_the_stages_of_original_posts_are_placed_one_by_one(tmp_path, live_sandbox, fake_openai):
    """``--stages`` places writing apart from sending; ``submit`` still names all four."""
    from redditbot.app import STAGE_ORDER
    from redditbot.cli.daemon import parse_stages
    from redditbot.errors import ConfigError

    posts = ("schedule_posts", "write_posts", "moderate_posts", "send_posts")
    assert parse_stages("generate,submit") == ("generate", *posts)
    assert parse_stages("write_posts,send_posts") == ("write_posts", "send_posts")
    assert parse_stages("all") == STAGE_ORDER and set(posts) <= set(STAGE_ORDER)
    with pytest.raises(ConfigError, match=r"unknown stage\(s\) \['publish'\].*send_posts"):
        parse_stages("post,publish")
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url,
                          db_url=f"sqlite:///{tmp_path / 'bot.db'}",
                          openai_url=fake_openai.url)  # fmt: skip
    bot = Bot(load_settings(config))
    bot.start(("write_posts", "moderate_posts"))
    try:
        running = {name: job.interval for name, job in bot.scheduler.jobs.items()}
    finally:
        bot.stop()
    interval = bot.settings.scheduler.submit_interval
    assert running == {"write_posts": interval, "moderate_posts": interval,
                       "clock_check": bot.settings.scheduler.clock_check_interval}  # fmt: skip
    cycle = Bot(load_settings(config))
    try:
        assert list(cycle.run_cycle(("submit", "post"))) == ["post", *posts]
    finally:
        cycle.stop()
