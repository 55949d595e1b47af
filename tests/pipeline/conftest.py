"""Fixtures for the pipeline: the sandbox Reddit over real HTTP, real PRAW, a migrated store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from redditbot.config import RedditSettings
from redditbot.reddit.gateway import PrawGateway
from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    ManualClock,
    SandboxServer,
    World,
)
from redditbot.store import queries
from redditbot.store.models import PollCursor, PostJob, ReplyJob
from tests.conftest import migrated_sessions


class StepClock:
    """The bot's injected clock: UTC datetimes that follow the sandbox's manual clock."""

    def __init__(self, world_clock: ManualClock) -> None:
        self.world_clock = world_clock

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.world_clock(), UTC)

    def advance(self, seconds: float) -> None:
        self.world_clock.advance(seconds)


def expire_leases(sessions, by: timedelta = timedelta(hours=1)) -> None:
    """Every lease runs out: it ended ``by`` ago on the database's clock (the clock leases are
    judged on; advancing a stage's injected clock no longer frees them)."""
    with sessions.begin() as session:
        for model in (ReplyJob, PostJob, PollCursor):
            session.execute(
                update(model)
                .where(model.lease_expires_at.is_not(None))
                .values(lease_expires_at=queries.db_now(session, -by))
            )


@pytest.fixture
def world_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clock(world_clock: ManualClock) -> StepClock:
    return StepClock(world_clock)


@pytest.fixture
def world(world_clock: ManualClock) -> World:
    return World.seeded(clock=world_clock)


@pytest.fixture
def sandbox(world: World, prawcore_retry_sleeps: list[float]) -> Iterator[SandboxServer]:
    with SandboxServer(world) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        yield server


def reddit_settings(server: SandboxServer, **overrides) -> RedditSettings:
    values = dict(
        client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET, username=DEMO_BOT,
        password=DEMO_PASSWORD, user_agent="test:redditbot:0.1 (by /u/redditbot)",
        oauth_url=server.url, reddit_url=server.url, short_url=server.url, ratelimit_seconds=0,
    )  # fmt: skip
    return RedditSettings(**(values | overrides))


@pytest.fixture
def gateway(sandbox: SandboxServer) -> PrawGateway:
    return PrawGateway(reddit_settings(sandbox))


@pytest.fixture
def sqlite_sessions(sqlite_empty_url: str):
    yield from migrated_sessions(sqlite_empty_url)
