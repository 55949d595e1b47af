"""The daemon as real processes: kill -9 at random moments, SIGTERM, two instances on PostgreSQL.

These use wall-clock time by nature (a process is killed at a random moment), so they are marked
slow; every wait is bounded.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from redditbot.domain import TERMINAL_STATUSES
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import ReplyJob
from tests.daemon.conftest import start_daemon, write_config

pytestmark = pytest.mark.slow
TERMINAL = {s.value for s in TERMINAL_STATUSES}


def replies_by_parent(world) -> Counter:
    return Counter(c.parent_id for c in world.comments_by(DEMO_BOT) if not c.deleted)


def mention_new_targets(world, rng: random.Random, count: int) -> list[str]:
    threads = [p.fullname for p in world.submissions({"learnpython", "cooking"})]
    return [
        "t1_"
        + world.mention(
            DEMO_BOT, rng.choice(threads), f"user{rng.randrange(10**6)}", "what would you suggest?"
        )  # fmt: skip
        for _ in range(count)
    ]


def jobs_for(db_url: str, targets: list[str]) -> dict[str, ReplyJob]:
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            query = select(ReplyJob).where(ReplyJob.target_fullname.in_(targets))
            return {j.target_fullname: j for j in session.scalars(query)}
    finally:
        engine.dispose()


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def all_terminal(db_url: str, targets: list[str]) -> bool:
    jobs = jobs_for(db_url, targets)
    return len(jobs) == len(targets) and all(j.status in TERMINAL for j in jobs.values())


def finish(config, log, db_url: str, targets: list[str], timeout: float = 90) -> None:
    """Run one more daemon until every target is settled, then stop it cleanly."""
    daemon = start_daemon(config, log)
    try:
        settled = wait_for(lambda: all_terminal(db_url, targets), timeout)
        jobs = jobs_for(db_url, targets)
        states = {t: (j.status, j.reason) for t, j in jobs.items() if j.status != "posted"}
        states["missing"] = [t for t in targets if t not in jobs]
        assert settled, (states, len(states), len(targets), log.read_text()[-2000:])
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)


def test_twenty_kill_nines_never_duplicate_and_lose_nothing(tmp_path, live_sandbox, fake_openai):
    rng, world = random.Random(20261129), live_sandbox.world
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url, db_url=db_url,
                          openai_url=fake_openai.url)  # fmt: skip
    log, before = tmp_path / "daemon.log", replies_by_parent(world)
    targets: list[str] = []
    kills = 0
    for round_ in range(22):
        targets += mention_new_targets(world, rng, 2)
        if round_ % 3 == 1:  # the comment is created, the answer is lost
            live_sandbox.faults.add("/api/comment", after_write=True, drop=True)
        if round_ % 3 == 2:
            live_sandbox.faults.add("/api/comment", after_write=True, status=502)
        daemon = start_daemon(config, log)
        time.sleep(rng.uniform(0.3, 4.0))
        daemon.kill()  # SIGKILL: no clean-up of any kind
        daemon.wait(10)
        kills += 1
    # the premise: many kills hit a daemon at work, not one still starting (a slow start-up
    # turns this test into the last daemon meeting every fault on its own; ~1.5 s start-up on
    # an idle 2-core machine leaves about 14 of 22 started, a loaded one about 8)
    started = log.read_text().count("redditbot started as")
    finish(config, log, db_url, targets)
    replies = replies_by_parent(world) - before
    assert kills >= 20
    assert started >= kills // 4, f"only {started} of {kills} daemons started before their kill"
    assert max(replies.values()) == 1, "a target got two replies"
    jobs = jobs_for(db_url, targets)
    assert {t: jobs[t].status for t in targets} == dict.fromkeys(targets, "posted")
    assert all(replies[t] == 1 for t in targets)


def test_sigterm_drains_within_the_grace_period(tmp_path, live_sandbox, fake_openai) -> None:
    rng, world = random.Random(3), live_sandbox.world
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url, db_url=db_url,
                          openai_url=fake_openai.url)  # fmt: skip
    log = tmp_path / "daemon.log"
    targets = mention_new_targets(world, rng, 3)
    daemon = start_daemon(config, log, "--grace", "10")
    assert wait_for(lambda: any(j.status == "posted" for j in jobs_for(db_url, targets).values()),
                    60), log.read_text()[-3000:]  # fmt: skip
    targets += mention_new_targets(world, rng, 3)  # work arriving while it stops
    started = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(15) == 0
    assert time.monotonic() - started < 12
    assert "drained" in log.read_text()
    leased = [j for j in jobs_for(db_url, targets).values() if j.status == "generating"]
    assert leased == []  # in-flight work was released, not left locked
    finish(config, log, db_url, targets)
    assert max((replies_by_parent(world)).values()) == 1


def test_two_daemons_on_postgresql_survive_one_being_killed(
    tmp_path, pg_empty_url, live_sandbox, fake_openai
) -> None:
    rng, world = random.Random(11), live_sandbox.world
    config = write_config(
        tmp_path / "bot.toml",
        sandbox_url=live_sandbox.url,
        db_url=pg_empty_url,
        openai_url=fake_openai.url,
        extra="[scheduler.__extra__]\n".replace("[scheduler.__extra__]\n", ""),
    )
    text = config.read_text().replace(
        "housekeeping_interval = 5", "housekeeping_interval = 2\njob_lease = 8\nfeed_lease = 3"
    )
    config.write_text(text)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    before = replies_by_parent(world)
    targets = mention_new_targets(world, rng, 12)
    a, b = start_daemon(config, log_a), start_daemon(config, log_b)
    try:
        assert wait_for(lambda: sum(j.status == "posted" for j in jobs_for(pg_empty_url,
                        targets).values()) >= 3, 60), log_a.read_text()[-2000:]  # fmt: skip
        a.kill()
        a.wait(10)
        targets += mention_new_targets(world, rng, 6)
        assert wait_for(lambda: all_terminal(pg_empty_url, targets), 120), log_b.read_text()[-3000:]
    finally:
        for daemon in (a, b):
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(30)
    replies = replies_by_parent(world) - before
    assert max(replies.values()) == 1
    assert all(replies[t] == 1 for t in targets)
    owners = {j.lease_owner for j in jobs_for(pg_empty_url, targets).values()}
    assert owners == {None}
