"""What the suite promises: a missing service, data set or package it depends on is a skip on a
developer's machine but a failure in CI (``CI=true``), so a broken set-up never passes as green.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """Whether the suite runs in CI, where everything it promises must be there."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip for ``reason``, or in CI fail with it."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the suite promises it, so this fails)", pytrace=False)
    pytest.skip(reason)


def require_module(name: str, installed_by: str) -> ModuleType:
    """Import a third-party module that ``installed_by`` provides, or be ``unavailable``."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        unavailable(f"{name} is not installed ({installed_by} installs it): {exc}")
