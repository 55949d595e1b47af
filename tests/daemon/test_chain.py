"""Stages chained in one daemon: a mention goes down the pipeline as soon as each stage hands it
on, not at every stage's next interval (``[scheduler] chain``)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from redditbot.app import Bot
from redditbot.config import load_settings
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store.models import ReplyJob
from tests.daemon.conftest import write_config

HOUR = 3600  # the intervals of every stage after the listener: they run at start, then hourly


def answer_times(tmp_path, sandbox, openai, *, chain: bool, continuous: bool, wait: float):
    """Start the daemon, mention the bot once it is idle, and return each mention's job status
    after ``wait`` seconds (or as soon as all were posted)."""
    extra = f"""
[generation]
continuous = {str(continuous).lower()}
"""
    config = write_config(
        tmp_path / "bot.toml",
        sandbox_url=sandbox.url,
        db_url=f"sqlite:///{tmp_path / 'bot.db'}",
        openai_url=openai.url,
        extra=extra,
    )
    text = config.read_text().replace("select_interval = 0.2", f"select_interval = {HOUR}")
    for stage in ("generate", "moderate", "post"):
        text = text.replace(f"{stage}_interval = 0.2", f"{stage}_interval = {HOUR}")
    text = text.replace("[scheduler]\n", f"[scheduler]\nchain = {str(chain).lower()}\n")
    config.write_text(text)
    bot = Bot(load_settings(config))
    bot.start()
    try:
        time.sleep(1.5)  # every stage has had its first run (at start); the next is an hour away
        world = sandbox.world
        threads = [p.fullname for p in world.submissions({"learnpython"})][:2]
        targets = ["t1_" + world.mention(DEMO_BOT, t, f"asker{i}", "what do you think?")
                   for i, t in enumerate(threads)]  # fmt: skip
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            statuses = job_statuses(bot, targets)
            if all(statuses.get(t) == "posted" for t in targets):
                break
            time.sleep(0.2)
    finally:
        bot.stop(grace=10)
    return targets, job_statuses(bot, targets)


def job_statuses(bot: Bot, targets: list[str]) -> dict[str, str]:
    with bot.sessions() as session:
        jobs = session.scalars(select(ReplyJob).where(ReplyJob.target_fullname.in_(targets)))
        return {job.target_fullname: str(job.status) for job in jobs}


@pytest.mark.parametrize("continuous", [True, False], ids=["continuous", "fixed"])
def test_a_mention_is_answered_without_waiting_for_each_stages_interval(
    tmp_path, live_sandbox, fake_openai, continuous
) -> None:
    targets, statuses = answer_times(
        tmp_path, live_sandbox, fake_openai, chain=True, continuous=continuous, wait=20
    )
    assert [statuses.get(t) for t in targets] == ["posted", "posted"], statuses


def test_unchained_stages_wait_for_their_own_intervals(tmp_path, live_sandbox, fake_openai) -> None:
    targets, statuses = answer_times(
        tmp_path, live_sandbox, fake_openai, chain=False, continuous=False, wait=4
    )
    assert not any(statuses.get(t) == "posted" for t in targets), statuses
    assert not statuses  # the listener stored them; the selector's next run is an hour away
