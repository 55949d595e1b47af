"""Fixtures shared by the store's tests."""

from __future__ import annotations

import pytest

from redditbot.store import migrate
from redditbot.store.engine import make_engine, session_factory


@pytest.fixture
def pg_sessions(pg_empty_url: str):
    """Sessions on an empty PostgreSQL database at the newest schema."""
    migrate.upgrade(pg_empty_url)
    engine = make_engine(pg_empty_url)
    yield session_factory(engine)
    engine.dispose()
