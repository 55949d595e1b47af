"""The one module that imports APScheduler: it decides *when* stages run, and holds nothing else.

Every job goes through one error handler, so no exception in a stage stops the daemon; a job
never overlaps itself (``max_instances=1``) and missed runs are coalesced into one.

Stages can be chained (``chain``): when a run of one handled something, the next runs at once
rather than at its next interval, so an item goes down the pipeline without waiting for each
stage's tick. A job woken while it runs runs once more when that run ends (what woke it may
have come too late for the run in progress), never twice at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from redditbot.domain import utcnow

log = logging.getLogger(__name__)

ErrorHandler = Callable[[str, BaseException], None]


@dataclass
class StageJob:
    """A named callable run every ``interval`` seconds."""

    name: str
    run: Callable[[], int]
    interval: float
    runs: int = 0
    failures: int = 0
    last_error: str | None = None
    handled: int = 0
    busy: threading.Lock = field(default_factory=threading.Lock)
    then: tuple[str, ...] = ()  # jobs to wake when a run of this one handled something
    again: bool = False  # woken during a run: run once more when it ends
    poke: Callable[[], None] | None = None  # tells a run in progress that it was woken


class Scheduler:
    """A thin wrapper over APScheduler's BackgroundScheduler."""

    def __init__(self, on_error: ErrorHandler) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        # A run skipped because the previous one is still going is by design, not news.
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
        self._scheduler = BackgroundScheduler(
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            timezone="UTC",
        )
        self._on_error = on_error
        self.jobs: dict[str, StageJob] = {}
        # APScheduler's shutdown holds its job-store lock while it waits for the running jobs,
        # so a wake-up (which takes that lock) must never start once a shutdown has begun.
        self._waking = threading.Lock()
        self._stopping = False

    def add(self, name: str, run: Callable[[], int], interval: float | None = None) -> None:
        """Run ``run`` every ``interval`` seconds, starting now; with no interval, only when
        asked (``run_now``)."""
        job = StageJob(name, run, interval or 0)
        self.jobs[name] = job
        if interval is not None:
            self._scheduler.add_job(
                self.run_job,
                "interval",
                seconds=interval,
                args=[job],
                id=name,
                name=name,
                next_run_time=utcnow(),
            )

    def chain(self, upstream: str, downstream: str) -> None:
        """Wake ``downstream`` whenever a run of ``upstream`` handled something (both added)."""
        job = self.jobs[upstream]
        if downstream not in job.then:
            job.then += (downstream,)

    def on_wake(self, name: str, poke: Callable[[], None]) -> None:
        """Call ``poke`` whenever the named job is woken, also while it runs (a stage whose runs
        last, such as continuous generation, can then look for the new work at once)."""
        self.jobs[name].poke = poke

    def wake(self, name: str) -> None:
        """Run the named job as soon as possible instead of at its next interval; if it is
        running, once more when that run ends. Jobs run only when asked, unknown names and a
        scheduler that is not running are left alone. Safe from any thread."""
        job = self.jobs.get(name)
        if job is None or not job.interval:
            return
        from apscheduler.jobstores.base import JobLookupError

        with self._waking:
            if self._stopping or not self._scheduler.running:
                return
            if job.poke is not None:
                job.poke()
            job.again = True  # before the wake-up: a run that starts after it clears it
            with contextlib.suppress(JobLookupError):  # removed meanwhile
                self._scheduler.modify_job(name, next_run_time=utcnow())

    def __contains__(self, name: str) -> bool:
        return name in self.jobs

    def run_now(self, name: str) -> int:
        """Run the named job once, now, in this thread, through the error handler; never
        raises. A run of it already in progress is waited for: a job never overlaps itself."""
        return self.run_job(self.jobs[name])

    def run_job(self, job: StageJob) -> int:
        """Run one job through the error handler, then wake what it feeds; never raises."""
        with job.busy:
            job.again = False  # this run sees everything committed before it started
            job.runs += 1
            try:
                handled = job.run()
            except Exception as exc:  # the one place every stage error ends up
                job.failures += 1
                job.last_error = f"{type(exc).__name__}: {exc}"
                self._on_error(job.name, exc)
                handled = 0
            job.handled += handled
            again = job.again
        if handled:
            for name in job.then:
                self.wake(name)
        if again:  # woken while running (the wake-up itself was skipped: max_instances)
            self.wake(job.name)
        return handled

    def start(self) -> None:
        self._scheduler.start()

    def pause(self) -> None:
        """Stop starting new runs; runs in progress go on."""
        self._scheduler.pause()

    def shutdown(self, wait: bool = True) -> None:
        with self._waking:  # a wake-up in progress finishes first; none starts after
            self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)
