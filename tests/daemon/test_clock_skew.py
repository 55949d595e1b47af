"""Two daemons on one PostgreSQL database, one of them with its clock 15 minutes off.

The Reddit here is slow (each new comment takes seconds), so one instance's request is still in
flight while the other runs its post stage: the moment a lease judged on a wrong clock lets the
other reconcile and send again. Real PRAW over HTTP, the real stages, the real database.

1. Replies: one instance runs every stage and is posting (a batch claimed, the first request in
   flight) when the other joins, running only ``post`` (``--stages post``), on the side whose
   clock makes the first one's leases look run out to it: ahead of it, or the first is behind.
2. Feeds and the selector: the skewed instance alone answers mentions (it holds the feeds and
   the selector), then dies without releasing them; the other answers the next mentions once the
   leases run out on the database's clock (``feed_lease`` = 3 s), not 15 minutes later.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from redditbot import cli
from redditbot.app import STAGE_ORDER, Bot
from redditbot.config import load_settings
from redditbot.observability.health import BotHealth
from redditbot.observability.server import Endpoints
from redditbot.reddit.sandbox import DEMO_BOT
from redditbot.store.models import Event, PostedReply, ReplyJob
from tests.daemon.conftest import write_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # ~20 s each: the slow Reddit is real time

SKEW = timedelta(minutes=15)
SLOW_REDDIT_S = 1.5  # seconds Reddit takes to answer each new comment
WAVE_TIMEOUT_S = 12.0


class SkewedClock:
    """A host whose wall clock is off by ``offset`` (NTP failed there)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Runner:
    """Runs one bot's stages back to back on a thread, as its scheduler would, until stopped."""

    def __init__(self, bot: Bot, stages: tuple[str, ...]) -> None:
        self.bot, self.stages, self.stopping = bot, stages, threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"bot-{bot.owner}", daemon=True)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.bot.run_cycle(self.stages)

    def start(self) -> Runner:
        self.thread.start()
        return self

    def halt(self) -> None:
        """Stop after the cycle in flight, releasing nothing (as if the host died)."""
        self.stopping.set()
        self.thread.join(timeout=30)


def mention_targets(world, count: int, tag: str) -> list[str]:
    threads = [p.fullname for p in world.submissions({"learnpython", "cooking"})]
    return [
        "t1_" + world.mention(DEMO_BOT, threads[i % len(threads)], f"{tag}{i}", "thoughts?")
        for i in range(count)
    ]


def job_status(bot: Bot, targets: list[str]) -> dict[str, str]:
    with bot.sessions() as session:
        query = select(ReplyJob.target_fullname, ReplyJob.status).where(
            ReplyJob.target_fullname.in_(targets)
        )
        return dict(session.execute(query).all())


def wait_until(bot: Bot, targets: list[str], wanted: str, timeout: float) -> bool:
    """Whether some job of ``targets`` reached ``wanted`` within ``timeout`` seconds."""
    deadline, pause = time.monotonic() + timeout, threading.Event()
    while wanted not in job_status(bot, targets).values():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.02)  # polling the store, not waiting for time to pass in the code under test
    return True


def wait_until_posted(bot: Bot, targets: list[str], timeout: float) -> dict[str, str]:
    deadline, pause = time.monotonic() + timeout, threading.Event()
    while True:
        status = job_status(bot, targets)
        if all(status.get(t) == "posted" for t in targets) or time.monotonic() > deadline:
            return status
        pause.wait(0.05)


def created_comments(sandbox) -> dict[str, str]:
    """Every comment the bot made on Reddit: fullname → parent (from the sandbox's write log)."""
    return {
        w.created: w.form.get("thing_id", "")
        for w in sandbox.writes.records
        if w.path.startswith("/api/comment") and w.created and w.account == DEMO_BOT
    }


@pytest.fixture
def two_instances(tmp_path, live_sandbox, fake_openai, pg_empty_url):
    config = write_config(
        tmp_path / "bot.toml", sandbox_url=live_sandbox.url, db_url=pg_empty_url,
        openai_url=fake_openai.url,
    )  # fmt: skip
    text = config.read_text().replace("housekeeping_interval = 5", "housekeeping_interval = 5\n"
                                      "feed_lease = 3")  # fmt: skip
    config.write_text(text)  # write_config turns the meaning classifier off (start-up time)
    instances = Instances(load_settings(config))
    instances.config = config
    yield instances
    instances.close()


class Instances:
    """Bots on one store; every runner is halted at the end, whatever the test did."""

    def __init__(self, settings) -> None:
        self.settings, self.bots, self.runners, self.config = settings, [], [], None

    def bot(self, offset: timedelta) -> Bot:
        bot = Bot(self.settings, clock=SkewedClock(offset))
        bot.prepare()
        self.bots.append(bot)
        return bot

    def run(self, bot: Bot, stages: tuple[str, ...] = STAGE_ORDER) -> Runner:
        self.runners.append(Runner(bot, stages).start())
        return self.runners[-1]

    def close(self) -> None:
        for runner in self.runners:
            runner.halt()
        for bot in self.bots:
            bot.engine.dispose()


@pytest.mark.parametrize("offset", [SKEW, -SKEW], ids=["ahead", "behind"])
def test_two_instances_one_clock_off_post_each_reply_once(
    two_instances, live_sandbox, offset
) -> None:
    world = live_sandbox.world
    live_sandbox.faults.add("/api/comment", method="POST", delay=SLOW_REDDIT_S, times=1000)
    skewed, normal = two_instances.bot(offset), two_instances.bot(timedelta())
    # the instance whose jobs look stale to the other (on the process clocks) does everything
    full, poster = (normal, skewed) if offset > timedelta() else (skewed, normal)
    replies = mention_targets(world, 4, "early")
    runners = [two_instances.run(full)]
    assert wait_until(normal, replies, "posting", WAVE_TIMEOUT_S), job_status(normal, replies)
    runners.append(two_instances.run(poster, ("post",)))
    status = wait_until_posted(normal, replies, WAVE_TIMEOUT_S)
    for runner in runners:
        runner.halt()

    by_skewed = mention_targets(world, 2, "middle")
    alone = two_instances.run(skewed)  # takes the feeds and the selector
    status |= wait_until_posted(normal, by_skewed, WAVE_TIMEOUT_S)
    alone.halt()  # the skewed host dies holding its feed and selector leases
    by_normal = mention_targets(world, 2, "late")
    survivor = two_instances.run(normal)
    status |= wait_until_posted(normal, by_normal, WAVE_TIMEOUT_S)
    survivor.halt()

    created = created_comments(live_sandbox)
    per_target = Counter(created.values())
    with normal.sessions() as session:
        recorded = set(session.scalars(select(PostedReply.comment_fullname)))
        errors = [e.message for e in session.scalars(select(Event).where(Event.level == "error"))]
    duplicates = {t: n for t, n in per_target.items() if n > 1}
    assert duplicates == {}, f"targets with more than one reply: {duplicates}"
    assert set(created) <= recorded, f"created but not recorded: {set(created) - recorded}"
    assert errors == []
    targets = replies + by_skewed + by_normal
    assert {t: status.get(t) for t in targets} == dict.fromkeys(targets, "posted")


@pytest.mark.parametrize("offset", [SKEW, -SKEW], ids=["ahead", "behind"])
def test_the_instance_whose_clock_is_off_says_so(two_instances, offset) -> None:
    """The start-up (and hourly) clock check: a warning, /readyz and `redditbot status`."""
    skewed, normal = two_instances.bot(offset), two_instances.bot(timedelta())
    for bot in (skewed, normal):  # the skewed one's warning must not hide behind a later "ok"
        bot.clock_check.run_once()
    side = "ahead of" if offset > timedelta() else "behind"
    assert normal.clock_problems == []
    assert [p.split(" s ")[1] for p in skewed.clock_problems] == [
        f"{side} the database",
        f"{side} Reddit",
    ]
    skewed.started = True
    status, _, body = Endpoints(skewed.sessions, BotHealth(skewed), datetime.now).readyz()
    assert status == 503 and "clock skew: this host is 9" in body
    out = io.StringIO()
    assert cli.main(["--config", str(two_instances.config), "status"], out=out) == 0
    assert "clock skew: this host is 9" in out.getvalue()  # the skewed instance's warning
