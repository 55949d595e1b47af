"""The scheduler wrapper: a job added without an interval runs only when asked, through the one
error handler, and never overlaps itself."""

from __future__ import annotations

import threading

import pytest

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


@pytest.mark.parametrize("chained", [True, False])
def test_a_stage_that_handled_something_wakes_the_next_one_at_once(chained: bool) -> None:
    """Chained, the downstream job runs right after the upstream one handled work, although
    its own interval is an hour; unchained, it waits for its interval."""
    scheduler = Scheduler(lambda name, exc: None)
    feed = iter([0, 0, 1])  # the third run of the upstream job hands work over
    downstream_runs = threading.Semaphore(0)
    scheduler.add("up", lambda: next(feed, 0), interval=0.1)
    scheduler.add("down", lambda: downstream_runs.release() or 0, interval=3600)
    if chained:
        scheduler.chain("up", "down")
    scheduler.start()
    try:
        assert downstream_runs.acquire(timeout=5)  # its first run, at start
        woken = downstream_runs.acquire(timeout=2)
    finally:
        scheduler.shutdown(wait=True)
    assert woken is chained
    assert scheduler.jobs["up"].runs >= 3


def test_a_stage_woken_while_it_runs_runs_once_more_after() -> None:
    """Work handed over during a run may have come too late for it: one more run follows, not
    one beside it (a job never overlaps itself)."""
    scheduler = Scheduler(lambda name, exc: None)
    inside, release, second = threading.Event(), threading.Event(), threading.Event()
    running: list[int] = []

    def stage() -> int:
        running.append(1)
        assert len(running) == 1, "two runs of one job at once"
        if inside.is_set():
            second.set()
        inside.set()
        release.wait(5)
        running.pop()
        return 0

    scheduler.add("stage", stage, interval=3600)
    scheduler.start()
    try:
        assert inside.wait(5)  # the first run, at start, is in progress
        scheduler.wake("stage")
        assert not second.wait(0.5)  # not beside the run in progress
        release.set()
        assert second.wait(5)  # but right after it
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    assert scheduler.jobs["stage"].runs == 2


def test_waking_leaves_jobs_run_only_when_asked_and_unknown_names_alone() -> None:
    scheduler = Scheduler(lambda name, exc: None)
    calls: list[str] = []
    scheduler.add("asked", lambda: calls.append("asked") or 0)
    scheduler.start()
    try:
        scheduler.wake("asked")
        scheduler.wake("missing")
        threading.Event().wait(0.3)
    finally:
        scheduler.shutdown(wait=True)
    assert calls == []


def test_a_run_in_progress_is_told_when_its_job_is_woken() -> None:
    """A stage whose runs last (continuous generation) hears of new work during a run."""
    scheduler = Scheduler(lambda name, exc: None)
    inside, poked = threading.Event(), threading.Event()
    scheduler.add("stage", lambda: inside.set() or poked.wait(5) and 0, interval=3600)
    scheduler.on_wake("stage", poked.set)
    scheduler.start()
    try:
        assert inside.wait(5)
        scheduler.wake("stage")
        assert poked.wait(1)
    finally:
        poked.set()
        scheduler.shutdown(wait=True)


def test_a_wake_up_racing_the_shutdown_never_deadlocks() -> None:
    """APScheduler's shutdown holds its job-store lock while it waits for running jobs: a run
    that wakes a job just as the shutdown begins must not then wait for that lock forever (the
    poke here starts the shutdown between the wake-up's check and its reschedule)."""
    scheduler = Scheduler(lambda name, exc: None)
    go = threading.Event()
    stopper = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True)

    def shutdown_meanwhile() -> None:
        stopper.start()
        stopper.join(0.3)

    scheduler.add("waker", lambda: go.wait(5) and scheduler.wake("woken") or 0, interval=3600)
    scheduler.add("woken", lambda: 0, interval=3600)
    scheduler.on_wake("woken", shutdown_meanwhile)
    scheduler.start()
    go.set()
    threading.Event().wait(0.5)
    stopper.join(10)
    assert stopper.is_alive() is False, "the shutdown deadlocked with a wake-up"
