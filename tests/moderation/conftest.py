"""Fixtures of the moderation tests (builders live in helpers.py)."""

from __future__ import annotations

import pytest

from redditbot.moderation.moderator import Moderator
from tests.moderation.helpers import make_moderator


@pytest.fixture
def moderator() -> Moderator:
    """Default settings and a fake classifier that scores every text 0."""
    return make_moderator()
