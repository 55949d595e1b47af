"""Fixtures for tests that drive real PRAW against the sandbox Reddit over 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import praw
import pytest

from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    ManualClock,
    SandboxServer,
    World,
)


@pytest.fixture
def sandbox_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox_world(sandbox_clock: ManualClock) -> World:
    return World.seeded(clock=sandbox_clock)


@pytest.fixture
def sandbox_server(
    sandbox_world: World, prawcore_retry_sleeps: list[float]
) -> Iterator[SandboxServer]:
    """A started sandbox (seeded world, manual clock, short-lived tokens)."""
    with SandboxServer(sandbox_world, token_lifetime_s=3600) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        yield server


@pytest.fixture
def sandbox_reddit(sandbox_server: SandboxServer) -> praw.Reddit:
    """Real PRAW logged in as the demo bot; PRAW's own RATELIMIT sleeps are switched off."""
    kwargs = sandbox_server.praw_kwargs(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_BOT, DEMO_PASSWORD)
    return praw.Reddit(**kwargs, ratelimit_seconds=0)
