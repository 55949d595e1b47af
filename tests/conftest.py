"""Shared fixtures: databases on SQLite and on the real PostgreSQL server, built by migrations;
prawcore retries without real sleeps."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import prawcore.sessions
import pytest
from sqlalchemy.orm import Session, sessionmaker

from redditbot.store import migrate
from redditbot.store.engine import make_engine, session_factory
from tests.promise import unavailable

PG_BASE = os.environ.get("REDDITBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _pg_admin_url() -> str:
    return PG_BASE.replace("postgresql+psycopg://", "postgresql://") + "/postgres"


def _pg_unavailable_reason() -> str | None:
    import psycopg

    try:
        with psycopg.connect(_pg_admin_url(), connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL not answering at {PG_BASE}: {str(exc).strip().splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The base URL of the PostgreSQL server; skips (with the reason) when none answers, and in
    CI (``CI=true``) fails: there the PostgreSQL tests are promised."""
    reason = _pg_unavailable_reason()
    if reason:
        unavailable(reason)
    yield PG_BASE


def _create_pg_database(base: str) -> str:
    import psycopg

    name = f"redditbot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_empty_url(pg_server: str) -> Iterator[str]:
    """A throwaway, empty PostgreSQL database, dropped after the test."""
    name = _create_pg_database(pg_server)
    yield f"{pg_server}/{name}"
    _drop_pg_database(name)


@pytest.fixture
def sqlite_empty_url(tmp_path: Path) -> str:
    """A fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'redditbot.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend."""
    fixture = "sqlite_empty_url" if request.param == "sqlite" else "pg_empty_url"
    return request.getfixturevalue(fixture)


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A database on each backend with the schema built by the migrations."""
    migrate.upgrade(empty_db_url)
    return empty_db_url


def migrated_sessions(url: str) -> Iterator[sessionmaker[Session]]:
    """For a fixture to ``yield from``: sessions on ``url`` migrated to the newest schema, the
    engine disposed of afterwards."""
    migrate.upgrade(url)
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated database (SQLite and PostgreSQL)."""
    yield from migrated_sessions(db_url)


@pytest.fixture
def prawcore_retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """prawcore sleeps 0-4 s of real time before each retry (FiniteRetryStrategy); tests
    must not. Record what it wanted to sleep instead, so tests can still assert the retry."""
    wanted: list[float] = []
    original = prawcore.sessions.FiniteRetryStrategy._sleep_seconds

    def record(strategy: prawcore.sessions.FiniteRetryStrategy) -> None:
        seconds = original(strategy)
        if seconds is not None:
            wanted.append(seconds)

    monkeypatch.setattr(prawcore.sessions.FiniteRetryStrategy, "_sleep_seconds", record)
    return wanted
