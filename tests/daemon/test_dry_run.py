"""``redditbot run`` with ``dry_run = true``: the whole daemon, and not one write reaches Reddit.

Mentions, replies to the bot's comment and to its thread sit in the inbox; the daemon runs the
whole pipeline twice (a restart in between) and records what it would have said. The sandbox's
write log (every POST but the token: comment, vote, read_message, submit, del, …) stays empty
and the inbox stays unread.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from redditbot.app import Bot
from redditbot.config import load_settings
from redditbot.errors import DryRunViolation
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import Event, PostedReply, ReplyJob
from tests.daemon.conftest import start_daemon, write_config


def fill_inbox(world) -> list[str]:
    """Two mentions, a reply to the bot's comment and one to its thread; their fullnames."""
    python, cooking = (world.submissions({sub})[0].fullname for sub in ("learnpython", "cooking"))
    own_comment = "t1_" + world.add_comment(python, DEMO_BOT, "An earlier answer of mine.")
    own_thread = "t3_" + world.add_submission("learnpython", DEMO_BOT, "Weekly help thread", "Ask!")
    return [
        "t1_" + world.mention(DEMO_BOT, python, "asker", "which library would you use?"),
        "t1_" + world.mention(DEMO_BOT, cooking, "cook", "what temperature for bread?"),
        "t1_" + world.add_comment(own_comment, "follow_up", "Why that one and not another?"),
        "t1_" + world.add_comment(own_thread, "newcomer", "How do I install packages on Windows?"),
    ]


def dry_run_config(tmp_path, sandbox, fake_openai, db_url: str):
    config = write_config(tmp_path / "bot.toml", sandbox_url=sandbox.url, db_url=db_url,
                          openai_url=fake_openai.url)  # fmt: skip
    config.write_text(config.read_text().replace("dry_run = false", "dry_run = true", 1))
    return config


def stored(db_url: str):
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            jobs = {j.target_fullname: j for j in session.scalars(select(ReplyJob))}
            recorded = {r.target_fullname: r for r in session.scalars(select(PostedReply))}
            problems = [
                (e.kind, e.message) for e in session.scalars(select(Event))
                if e.level in ("warning", "error")
            ]  # fmt: skip
        return jobs, recorded, problems
    finally:
        engine.dispose()


def test_a_dry_run_daemon_writes_nothing_to_reddit(tmp_path, live_sandbox, fake_openai) -> None:
    world, db_url = live_sandbox.world, f"sqlite:///{tmp_path / 'bot.db'}"
    config = dry_run_config(tmp_path, live_sandbox, fake_openai, db_url)
    inbox = fill_inbox(world)
    live_sandbox.writes.clear()
    log = tmp_path / "daemon.log"
    for _ in range(2):  # run, stop, start again: start-up runs in dry run too
        assert start_daemon(config, log, "--once").wait(120) == 0, log.read_text()[-3000:]
    assert live_sandbox.writes.records == [], log.read_text()[-3000:]
    unread = {entry.comment for entry in world.inbox(DEMO_BOT) if entry.new}
    assert set(inbox) <= unread  # not marked read
    jobs, recorded, problems = stored(db_url)
    for mention in inbox[:2]:  # it went all the way: it would have answered the mentions
        assert (jobs[mention].status, jobs[mention].reason) == ("skipped", "dry_run")
        assert recorded[mention].dry_run and recorded[mention].body
    assert all(r.dry_run and r.comment_fullname is None for r in recorded.values())
    assert problems == [] and " ERROR " not in log.read_text()


def test_the_daemons_gateway_refuses_writes_in_a_dry_run(tmp_path, live_sandbox, fake_openai):
    """The guard under every code path: a write some stage forgot to skip is refused."""
    config = dry_run_config(tmp_path, live_sandbox, fake_openai, f"sqlite:///{tmp_path / 'x.db'}")
    bot = Bot(load_settings(config))
    target = live_sandbox.world.comments({"learnpython"})[0].fullname
    with pytest.raises(DryRunViolation, match="refused POST /api/comment"):
        bot.gateway.reply(target, "this must not be sent")
    bot.engine.dispose()
    assert live_sandbox.writes.records == []
