"""Shared helpers for the deploy/ tests: where the files are, and the real CLI and settings."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from redditbot.cli import build_parser
from redditbot.config import load_settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def parse_redditbot_command(argv: list[str]):
    """Parse a ``redditbot ...`` command line (without the program) with the real parser."""
    parser = build_parser()
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"redditbot rejects: {shlex.join(argv)}") from exc


def settings_from_environment(env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """Settings built from these REDDITBOT_* variables only (no file), each checked to arrive.

    pydantic-settings ignores a variable that names no key, so a typo would pass silently:
    every variable's value is looked up again at its key path in the loaded settings.
    """
    for name in [n for n in os.environ if n.startswith("REDDITBOT_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(None)
    for name, value in env.items():
        assert setting_at(settings, name) == value.lower(), f"{name} reaches no setting"
    return settings


def setting_at(settings, variable: str) -> str:
    """The value at the key path a REDDITBOT_<SECTION>__<KEY> variable names, as lower text."""
    node = settings
    for part in variable.removeprefix("REDDITBOT_").lower().split("__"):
        if not hasattr(node, part):
            return f"<no key {part!r}>"
        node = getattr(node, part)
    return str(node).lower()


def settings_variables(env: dict[str, str]) -> dict[str, str]:
    """The REDDITBOT_* variables that are settings (not the config/secrets file pointers)."""
    pointers = {"REDDITBOT_CONFIG", "REDDITBOT_SECRETS_FILE"}
    return {k: v for k, v in env.items() if k.startswith("REDDITBOT_") and k not in pointers}


# The daemon's own test kit (sandbox Reddit, fake model server), for the notify test.
from tests.daemon.conftest import fake_openai, live_sandbox  # noqa: E402, F401


@pytest.fixture
def exposed_metrics(sqlite_empty_url: str) -> set[str]:
    """The metric family names a real /metrics registry serves (store figures included), read
    from a scrape of a migrated SQLite store; histogram and counter families by their base name,
    plus every sample name (``…_total``, ``…_bucket``) as PromQL spells it."""
    from prometheus_client.parser import text_string_to_metric_families

    from redditbot.observability.exposition import ProcessStateCollector, build_registry, render
    from redditbot.observability.store_metrics import StoreCollector
    from redditbot.store import migrate
    from redditbot.store.engine import make_engine, session_factory
    from tests.observability.conftest import NOW, FakeHealth

    migrate.upgrade(sqlite_empty_url)
    engine = make_engine(sqlite_empty_url)
    try:
        stats = {stage: {"runs": 1, "failures": 0, "handled": 0} for stage in ("listen", "post")}
        registry = build_registry(ProcessStateCollector(FakeHealth(stats=stats)),
                                  StoreCollector(session_factory(engine), lambda: NOW))  # fmt: skip
        names: set[str] = set()
        for metric in text_string_to_metric_families(render(registry)):
            names |= {metric.name} | {sample.name for sample in metric.samples}
            if metric.type == "counter":  # a family with no sample yet still has its name
                names.add(f"{metric.name}_total")
        return names
    finally:
        engine.dispose()
