"""BotHealth over a real Bot and its real Scheduler (jobs run by hand: no scheduler threads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from redditbot.app import Bot
from redditbot.config import Settings
from redditbot.generation.factory import ModelCache, ModelRouter
from redditbot.generation.settings import ModelSettings
from redditbot.observability import ObservabilitySettings
from redditbot.observability.health import BotHealth, generator_ready
from redditbot.observability.server import ObservabilityServer, start_for_bot, start_for_fleet
from redditbot.scheduler import StageJob
from redditbot.store import migrate
from tests.observability.conftest import get


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail() -> int:
    raise RuntimeError("listing broke")


@pytest.fixture
def bot(sqlite_empty_url: str) -> Iterator[Bot]:
    migrate.upgrade(sqlite_empty_url)
    bot = Bot(Settings(database={"url": sqlite_empty_url}))
    bot.scheduler.jobs["listen"] = StageJob("listen", lambda: 4, interval=10.0)
    bot.scheduler.jobs["post"] = StageJob("post", _fail, interval=5.0)
    yield bot
    bot.scheduler.shutdown(wait=False)
    bot.engine.dispose()


def test_stage_stats_count_runs_failures_and_handled(bot: Bot) -> None:
    for job in bot.scheduler.jobs.values():
        bot.scheduler.run_job(job)
    bot.scheduler.run_job(bot.scheduler.jobs["listen"])

    assert BotHealth(bot).stage_stats() == {
        "listen": {"runs": 2, "failures": 0, "handled": 8},
        "post": {"runs": 1, "failures": 1, "handled": 0},
    }


def test_alive_needs_a_running_scheduler(bot: Bot) -> None:
    assert BotHealth(bot).alive() is False


def test_alive_until_no_stage_starts_for_three_intervals(bot: Bot) -> None:
    clock = FakeClock()
    health = BotHealth(bot, clock=clock)
    bot.scheduler.start()  # its APScheduler has no jobs: runs happen only by hand here
    listen = bot.scheduler.jobs["listen"]

    assert health.alive()  # first look: a grace period
    clock.now += 29.0
    assert health.alive()  # within 3 × 10 s of listen
    clock.now += 2.0
    assert not health.alive()  # nothing started for 31 s: listen 30 s, post 15 s
    bot.scheduler.run_job(listen)
    assert health.alive()
    clock.now += 31.0
    assert not health.alive()


def test_ready_reasons(bot: Bot) -> None:
    loaded = False
    health = BotHealth(bot, model_ready=lambda: loaded)

    assert health.ready() == (False, ["not started", "model not loaded"])
    bot.started, loaded = True, True
    assert health.ready() == (True, [])
    bot.draining = True
    assert health.ready() == (False, ["draining"])
    assert health.draining


def test_a_stage_error_shows_in_the_metrics(bot: Bot) -> None:
    bot.started = True
    bot.scheduler.start()
    bot.scheduler.run_job(bot.scheduler.jobs["post"])  # fails; the Bot logs a stage_error event
    server = ObservabilityServer("127.0.0.1", 0, bot.sessions, BotHealth(bot))
    server.start()
    try:
        body = get(f"{server.url}/metrics").body
        ready = get(f"{server.url}/readyz")
    finally:
        server.stop()
    samples = {
        (s.name, tuple(s.labels.values())): s.value
        for metric in text_string_to_metric_families(body)
        for s in metric.samples
    }

    assert samples[("redditbot_stage_failures_total", ("post",))] == 1
    assert samples[("redditbot_reddit_errors_total", ("stage_error",))] == 1
    assert samples[("redditbot_up", ())] == 1
    assert (ready.status, ready.body) == (200, "ready\n")


def test_generator_ready_once_a_model_is_loaded() -> None:
    cache = ModelCache()
    router = ModelRouter(ModelSettings(), cache, lambda name, c: c.get(name, object))

    assert not generator_ready(router)
    router.generator_for("default")
    assert generator_ready(router)
    assert generator_ready(object())  # e.g. the OpenAI backend: nothing to load


def test_start_for_bot_only_when_enabled(bot: Bot) -> None:
    assert start_for_bot(bot, ObservabilitySettings()) is None

    server = start_for_bot(bot, ObservabilitySettings(enabled=True, port=0))
    assert server is not None
    try:
        before = get(f"{server.url}/readyz")
        bot.started, bot.running_stages = True, ("listen", "post")  # a process without generate
        no_model_needed = get(f"{server.url}/readyz")
        bot.running_stages = ("listen", "generate", "post")  # as Bot.start() leaves it
        unloaded = get(f"{server.url}/readyz")
        bot.generator.cache.get("model", object)  # what loading the default model leaves
        after = get(f"{server.url}/readyz")
    finally:
        server.stop()

    assert (before.status, before.body) == (503, "not ready: not started; model not loaded\n")
    assert (no_model_needed.status, no_model_needed.body) == (200, "ready\n")
    assert (unloaded.status, unloaded.body) == (503, "not ready: model not loaded\n")
    assert (after.status, after.body) == (200, "ready\n")


def test_a_fleet_is_ready_only_when_every_account_is(sqlite_empty_url: str) -> None:
    migrate.upgrade(sqlite_empty_url)
    accounts = [{"name": "alpha"}, {"name": "beta"}]
    settings = Settings(database={"url": sqlite_empty_url}, accounts=accounts)
    bots = [Bot(settings.for_account(name)) for name in ("alpha", "beta")]
    for bot in bots:
        bot.scheduler.jobs["listen"] = StageJob("listen", lambda: 3, interval=10.0)
        bot.scheduler.run_job(bot.scheduler.jobs["listen"])
        bot.running_stages = ("listen",)  # no generate: no model needed
    server = start_for_fleet(bots, ObservabilitySettings(enabled=True, port=0))
    assert server is not None
    try:
        bots[0].started = True
        half = get(f"{server.url}/readyz")
        bots[1].started = True
        whole = get(f"{server.url}/readyz")
        bots[1].draining = True
        draining = get(f"{server.url}/metrics").body
    finally:
        server.stop()
        for bot in bots:
            bot.scheduler.shutdown(wait=False)
            bot.engine.dispose()
    assert half.status == 503 and "beta: not started" in half.body and "alpha" not in half.body
    assert (whole.status, whole.body) == (200, "ready\n")
    samples = {
        (s.name, tuple(s.labels.values())): s.value
        for metric in text_string_to_metric_families(draining)
        for s in metric.samples
    }
    assert samples[("redditbot_stage_handled_total", ("listen",))] == 6  # 3 + 3: both accounts
    assert samples[("redditbot_draining", ())] == 1 and samples[("redditbot_ready", ())] == 0
