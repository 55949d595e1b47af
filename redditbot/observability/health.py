"""What the HTTP endpoints ask the running bot: is it alive, is it ready, what have stages done.

``HealthSource`` is the port; ``BotHealth`` adapts a ``redditbot.app.Bot`` to it without the
bot knowing about HTTP. ``exposition.ProcessStateCollector`` turns its answers into metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

# A stage counts as stuck when it has not started for this many of its intervals.
STALE_INTERVALS = 3.0


class HealthSource(Protocol):
    """What the observability server needs from the bot."""

    draining: bool

    def alive(self) -> bool:
        """The main loop runs: the scheduler is up and a stage started recently."""
        ...

    def ready(self) -> tuple[bool, list[str]]:
        """Whether the bot can take work, and the reasons when it cannot."""
        ...

    def stage_stats(self) -> dict[str, dict[str, int]]:
        """Per stage: ``runs``, ``failures`` and ``handled`` since this process started."""
        ...


class BotHealth:
    """A ``HealthSource`` over a Bot: reads its scheduler's job counters and its flags.

    Liveness needs to know when a stage last started; the scheduler keeps only counts, so each
    call notes the time at which a job's run count was last seen to change.
    """

    def __init__(
        self,
        bot: Any,
        *,
        model_ready: Callable[[], bool] = lambda: True,
        stale_intervals: float = STALE_INTERVALS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot, self.model_ready = bot, model_ready
        self.stale_intervals, self.clock = stale_intervals, clock
        self._seen: dict[str, tuple[int, float]] = {}

    @property
    def draining(self) -> bool:
        return bool(self.bot.draining)

    def alive(self) -> bool:
        """Scheduler running and at least one stage started within its stale window."""
        scheduler = self.bot.scheduler
        if not scheduler.running or not scheduler.jobs:
            return False
        now = self.clock()
        recent = [self._recent(job, now) for job in list(scheduler.jobs.values())]  # note all
        return any(recent)

    def _recent(self, job: Any, now: float) -> bool:
        runs, changed_at = self._seen.get(job.name, (-1, now))
        if job.runs != runs:
            changed_at = now
            self._seen[job.name] = (job.runs, now)
        return now - changed_at <= self.stale_intervals * job.interval

    def ready(self) -> tuple[bool, list[str]]:
        """Started, not draining, model loaded (the database is checked by the server)."""
        reasons = []
        if not self.bot.started:
            reasons.append("not started")
        if self.bot.draining:
            reasons.append("draining")
        if not self.model_ready():
            reasons.append("model not loaded")
        reasons += getattr(self.bot, "clock_problems", [])  # the last clock check's findings
        return not reasons, reasons

    def stage_stats(self) -> dict[str, dict[str, int]]:
        """The scheduler's counters for every stage it knows."""
        jobs = list(self.bot.scheduler.jobs.values())
        return {
            job.name: {"runs": job.runs, "failures": job.failures, "handled": job.handled}
            for job in jobs
        }


class FleetHealth:
    """A ``HealthSource`` over several accounts' sources in one process (``redditbot.app.Fleet``).

    Alive and ready only when every account is; a reason names its account when there are
    several. Stage counters are summed over the accounts (the metric is per process).
    """

    def __init__(self, sources: Mapping[str, HealthSource]) -> None:
        self.sources = dict(sources)

    @property
    def draining(self) -> bool:
        return any(source.draining for source in self.sources.values())

    def alive(self) -> bool:
        return all([source.alive() for source in self.sources.values()])  # each notes its runs

    def ready(self) -> tuple[bool, list[str]]:
        reasons = []
        for account, source in self.sources.items():
            _, why = source.ready()
            reasons += [f"{account}: {reason}" for reason in why] if len(self.sources) > 1 else why
        return not reasons, reasons

    def stage_stats(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        for source in self.sources.values():
            for stage, counters in source.stage_stats().items():
                stage_totals = totals.setdefault(stage, {})
                for key, value in counters.items():
                    stage_totals[key] = stage_totals.get(key, 0) + value
        return totals


def generator_ready(generator: Any) -> bool:
    """Whether a generator can answer now: a router has loaded a model, other backends always."""
    from redditbot.generation.factory import ModelRouter

    if isinstance(generator, ModelRouter):
        return len(generator.cache) > 0
    return True
