"""Fixtures: a migrated store with rows we put there, a fake HealthSource, a live server."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from redditbot.observability.server import ObservabilityServer
from redditbot.store.models import ReplyJob
from tests.conftest import migrated_sessions

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@dataclass
class FakeHealth:
    """A HealthSource whose answers the test sets."""

    is_alive: bool = True
    not_ready: list[str] = field(default_factory=list)
    draining: bool = False
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    def alive(self) -> bool:
        return self.is_alive

    def ready(self) -> tuple[bool, list[str]]:
        return not self.not_ready, list(self.not_ready)

    def stage_stats(self) -> dict[str, dict[str, int]]:
        return self.stats


@dataclass
class Reply:
    status: int
    content_type: str
    body: str


def get(url: str) -> Reply:
    """GET over real HTTP; error statuses are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return Reply(
                response.status, response.headers["Content-Type"], response.read().decode()
            )
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers["Content-Type"], error.read().decode())


@pytest.fixture
def sqlite_sessions(sqlite_empty_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated SQLite file, for tests that are not about the queries."""
    yield from migrated_sessions(sqlite_empty_url)


@pytest.fixture
def health() -> FakeHealth:
    return FakeHealth()


@pytest.fixture
def serve():
    """Start an ObservabilityServer on 127.0.0.1, any port; stopped after the test."""
    started: list[ObservabilityServer] = []

    def start(sessions: sessionmaker[Session], source: FakeHealth) -> ObservabilityServer:
        server = ObservabilityServer("127.0.0.1", 0, sessions, source, clock=lambda: NOW)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def add_job(session: Session, target: str, status: str = "queued", **fields) -> ReplyJob:
    """A reply job on ``target`` (flushed, so it has an id)."""
    fields = {"created_at": NOW, "updated_at": NOW} | fields
    job = ReplyJob(
        account="bot", target_fullname=target, subreddit="python", link_fullname="t3_x",
        status=status, **fields,
    )  # fmt: skip
    session.add(job)
    session.flush()
    return job


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)
