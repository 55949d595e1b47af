"""The scheduler wrapper: a job added without an interval runs only when asked, through the one
error handler, and never overlaps itself."""

from __future__ import annotations

import threading

from redditbot.scheduler import Scheduler


def test_run_now_runs_a_job_through_the_error_handler() -> None:
    errors: list[tuple[str, str]] = []
    scheduler = Scheduler(lambda name, exc: errors.append((name, str(exc))))
    calls: list[str] = []
    scheduler.add("count", lambda: calls.append("count") or 3)
    scheduler.add("broken", lambda: 1 / 0)
    ticked = threading.Event()
    scheduler.add("tick", lambda: ticked.set() or 0, interval=3600)  # runs at start, then hourly
    assert "count" in scheduler and "missing" not in scheduler
    scheduler.start()
    assert ticked.wait(5)  # the scheduler ran what it schedules at start, and only that
    scheduler.shutdown(wait=True)  # whatever it had started has finished
    assert calls == [] and errors == []
    assert scheduler.run_now("count") == 3 and calls == ["count"]
    assert scheduler.run_now("broken") == 0  # never raises: the handler has it
    assert errors == [("broken", "division by zero")]
    assert (scheduler.jobs["count"].runs, scheduler.jobs["count"].handled) == (1, 3)
    assert scheduler.jobs["broken"].failures == 1


def test_run_now_waits_for_a_run_in_progress() -> None:
    scheduler = Scheduler(lambda name, exc: None)
    inside, release = threading.Event(), threading.Event()
    running: list[int] = []

    def stage() -> int:
        running.append(1)
        assert len(running) == 1, "two runs of one job at once"
        inside.set()
        release.wait(5)
        running.pop()
        return 1

    scheduler.add("stage", stage)
    first = threading.Thread(target=scheduler.run_now, args=("stage",))
    first.start()
    inside.wait(5)
    second = threading.Thread(target=scheduler.run_now, args=("stage",))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the first run, not running beside it
    release.set()
    first.join(5)
    second.join(5)
    assert scheduler.jobs["stage"].runs == 2
