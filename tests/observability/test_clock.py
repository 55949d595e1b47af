"""The clock check against the real database and the sandbox's Date header over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from redditbot.observability.clock import ClockCheck
from redditbot.observability.health import BotHealth
from redditbot.observability.server import Endpoints
from redditbot.reddit.gateway import PrawGateway
from redditbot.reddit.sandbox import SandboxServer, World
from redditbot.store.models import Event
from tests.pipeline.conftest import reddit_settings


@pytest.fixture
def real_time_reddit(prawcore_retry_sleeps):
    """A sandbox on the real clock: its Date header is the time, as Reddit's is."""
    with SandboxServer(World.seeded()) as server:
        yield server


def check(sessions, server, offset: timedelta) -> ClockCheck:
    clock = ClockCheck(sessions, PrawGateway(reddit_settings(server)), account="bot",
                       clock=lambda: datetime.now(UTC) + offset)  # fmt: skip
    clock.run_once()
    return clock


class StartedBot:
    """What BotHealth reads of a running bot, and the clock check's findings."""

    draining, running_stages = False, ("post",)
    started = True

    def __init__(self, clock_check: ClockCheck) -> None:
        self.clock_check = clock_check

    @property
    def clock_problems(self) -> list[str]:
        return self.clock_check.problems


def test_clocks_in_step_pass(sessions, real_time_reddit) -> None:
    clock = check(sessions, real_time_reddit, timedelta(seconds=2))
    assert clock.problems == []
    with sessions() as session:
        event = session.scalars(select(Event).where(Event.kind == "clock_check")).one()
    assert event.level == "info" and "clocks agree" in event.message
    assert abs(event.data["database_offset_s"] - 2) < 1.5
    assert abs(event.data["reddit_offset_s"] - 2) < 1.5  # the Date header has whole seconds
    ready = Endpoints(sessions, BotHealth(StartedBot(clock)), datetime.now).readyz()
    assert ready[2] == "ready\n"


@pytest.mark.parametrize("minutes", [15, -15])
def test_a_host_clock_off_by_minutes_warns_and_readyz_says_so(
    sessions, real_time_reddit, minutes
) -> None:
    clock = check(sessions, real_time_reddit, timedelta(minutes=minutes))
    side = "ahead of" if minutes > 0 else "behind"
    assert [p.split(" s ")[1] for p in clock.problems] == [f"{side} the database", f"{side} Reddit"]
    seconds = [float(re.search(r"is ([\d.]+) s", p)[1]) for p in clock.problems]
    assert all(abs(s - 900) < 2 for s in seconds)
    with sessions() as session:
        event = session.scalars(select(Event).where(Event.kind == "clock_check")).one()
    assert event.level == "warning" and event.data["max_skew_s"] == 30
    status, _, body = Endpoints(sessions, BotHealth(StartedBot(clock)), datetime.now).readyz()
    assert status == 503 and "clock skew: this host is 9" in body and f"{side} Reddit" in body


def test_the_bound_is_the_configured_one(sessions, real_time_reddit) -> None:
    gateway = PrawGateway(reddit_settings(real_time_reddit))
    loose = ClockCheck(sessions, gateway, account="bot", max_skew=timedelta(minutes=20),
                       clock=lambda: datetime.now(UTC) + timedelta(minutes=15))  # fmt: skip
    loose.run_once()
    assert loose.problems == []
