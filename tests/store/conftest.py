"""Fixtures shared by the store's tests."""

from __future__ import annotations

import pytest

from tests.conftest import migrated_sessions


@pytest.fixture
def pg_sessions(pg_empty_url: str):
    """Sessions on an empty PostgreSQL database at the newest schema."""
    yield from migrated_sessions(pg_empty_url)
