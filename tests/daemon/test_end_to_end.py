"""The whole bot in one process against the sandbox: threads and mentions in, replies out, once."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from sqlalchemy import func, select

from redditbot import cli
from redditbot.app import Bot, Fleet
from redditbot.config import load_settings
from redditbot.errors import StoreError
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store import migrate
from redditbot.store.models import ReplyJob, SelectionDecision
from tests.daemon.conftest import write_config


def bot_replies_by_parent(world) -> Counter:
    return Counter(c.parent_id for c in world.comments_by(DEMO_BOT) if not c.deleted)


def test_mentions_get_exactly_one_reply_each(tmp_path, live_sandbox, fake_openai) -> None:
    world = live_sandbox.world
    config = write_config(
        tmp_path / "bot.toml",
        sandbox_url=live_sandbox.url,
        db_url=f"sqlite:///{tmp_path / 'bot.db'}",
        openai_url=fake_openai.url,
    )
    threads = [p.fullname for p in world.submissions({"learnpython", "cooking"})][:3]
    mentions = ["t1_" + world.mention(DEMO_BOT, t, f"asker{i}", "what do you think?")
                for i, t in enumerate(threads)]  # fmt: skip
    before = bot_replies_by_parent(world)
    bot = Bot(load_settings(config))
    bot.prepare()
    for _ in range(4):
        bot.run_cycle()
    new_thread = "t3_" + world.add_submission("learnpython", "newbie", "Help?", "u/sandbox_bot hi")
    late = "t1_" + world.mention(DEMO_BOT, new_thread, "late_asker", "and this one?")
    for _ in range(4):
        bot.run_cycle()
    with bot.sessions() as session:
        jobs = {j.target_fullname: j for j in session.scalars(select(ReplyJob))}
        undecided = session.scalar(select(func.count()).select_from(SelectionDecision))
    bot.stop()
    replies = bot_replies_by_parent(world) - before
    for target in [*mentions, late]:
        assert jobs[target].status == "posted", (target, jobs[target].reason)
        assert replies[target] == 1
    assert max(replies.values()) == 1  # never two replies under one target
    assert undecided > 0 and all(
        j.status in ("posted", "skipped", "rejected") for j in jobs.values()
    )
    assert fake_openai.requests >= len(mentions) + 1


def test_two_accounts_in_one_daemon_answer_in_their_own_subreddits(
    tmp_path, live_sandbox, fake_openai
) -> None:
    world = live_sandbox.world
    world.add_user("second_bot", "second-password")
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url,
                          db_url=f"sqlite:///{tmp_path / 'bot.db'}", openai_url=fake_openai.url,
                          extra="""
[[accounts]]
name = "python_helper"
subreddits = ["learnpython"]
persona = "You help with Python."
[[accounts]]
name = "cook"
subreddits = ["Cooking"]
[accounts.reddit]
username = "second_bot"
password = "second-password"
""")  # fmt: skip
    py_thread = world.submissions({"learnpython"})[0].fullname
    cook_thread = world.submissions({"cooking"})[0].fullname
    py_mention = "t1_" + world.mention(DEMO_BOT, py_thread, "pyuser", "help?")
    cook_mention = "t1_" + world.mention("second_bot", cook_thread, "cookuser", "help?")
    settings = load_settings(config)
    fleet = Fleet(settings)
    assert [b.account for b in fleet.bots] == ["python_helper", "cook"]
    assert fleet.bots[0]._model_cache is fleet.bots[1]._model_cache  # one copy of a shared model
    fleet.prepare()
    for _ in range(4):
        fleet.run_cycle()
    with fleet.bots[0].sessions() as session:
        jobs = {(j.account, j.target_fullname): j.status for j in session.scalars(select(ReplyJob))}
    fleet.stop()
    assert jobs[("python_helper", py_mention)] == "posted"
    assert jobs[("cook", cook_mention)] == "posted"
    assert ("cook", py_mention) not in jobs and ("python_helper", cook_mention) not in jobs
    assert [c.parent_id for c in world.comments_by("second_bot")] == [cook_mention]
    assert py_mention in [c.parent_id for c in world.comments_by(DEMO_BOT)]


def test_a_second_instance_on_one_sqlite_file_is_refused(tmp_path, live_sandbox, fake_openai):
    config = write_config(
        tmp_path / "bot.toml",
        sandbox_url=live_sandbox.url,
        db_url=f"sqlite:///{tmp_path / 'bot.db'}",
        openai_url=fake_openai.url,
    )
    first, second = Fleet(load_settings(config)), Fleet(load_settings(config))
    first.prepare()
    try:
        with pytest.raises(StoreError, match="another redditbot is already running"):
            second.prepare()
    finally:
        first.stop()
    second.prepare()  # the lock went with the first instance
    second.stop()


def test_run_refuses_a_schema_that_is_behind(tmp_path, live_sandbox, fake_openai) -> None:
    config = write_config(
        tmp_path / "bot.toml",
        sandbox_url=live_sandbox.url,
        db_url=f"sqlite:///{tmp_path / 'bot.db'}",
        openai_url=fake_openai.url,
    )
    migrate.downgrade(f"sqlite:///{tmp_path / 'bot.db'}", "0001")
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--config", str(config), "run", "--once"], out=out, err=err)
    assert code == 78  # EX_CONFIG: restarting will not help
    assert "run `redditbot db upgrade` first" in err.getvalue()


class HousekeepingDuringGeneration:
    """A generator so slow that housekeeping runs while it works (as on a busy CPU)."""

    def __init__(self) -> None:
        self.bot: Bot | None = None

    def generate(self, requests):
        from redditbot.domain import Candidate, Generation

        self.bot.release_stale_leases()  # what the housekeeping stage does meanwhile
        return [Generation(key=r.key, model_id="slow", prompt="p", params={}, tokens_in=1,
                           latency_s=120.0,
                           candidates=(Candidate("Check the label twice, then test a small "
                                                 "batch before the real thing.", 12),))
                for r in requests]  # fmt: skip


def test_housekeeping_never_takes_jobs_from_a_running_generation(
    tmp_path, live_sandbox, fake_openai
) -> None:
    world = live_sandbox.world
    config = write_config(
        tmp_path / "bot.toml",
        sandbox_url=live_sandbox.url,
        db_url=f"sqlite:///{tmp_path / 'bot.db'}",
        openai_url=fake_openai.url,
    )
    thread = world.submissions({"learnpython"})[0].fullname
    target = "t1_" + world.mention(DEMO_BOT, thread, "asker", "what do you think?")
    slow = HousekeepingDuringGeneration()
    bot = slow.bot = Bot(load_settings(config), generator=slow)
    bot.prepare()
    for stage in ("listen", "select", "generate"):
        bot.stages[stage].run_once()
    with bot.sessions() as session:
        job = session.scalars(select(ReplyJob).where(ReplyJob.target_fullname == target)).one()
    bot.stop()
    assert job.status == "drafted"
