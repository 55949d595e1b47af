"""Logs: text or JSON lines, and a secret never reaches the output, even inside a traceback."""

from __future__ import annotations

import io
import json
import logging

import pytest

from redditbot.config import LoggingSettings, Settings
from redditbot.logs import configure_logging, secret_values

PASSWORD = "hunter2-very-secret"


@pytest.fixture
def captured():
    stream = io.StringIO()
    yield stream
    logging.getLogger().handlers[:] = []


def test_secrets_are_masked_in_messages_and_tracebacks(captured) -> None:
    settings = Settings(reddit={"password": PASSWORD, "client_secret": "s3cr3t-client"})
    configure_logging(LoggingSettings(), secrets=secret_values(settings), stream=captured)
    log = logging.getLogger("redditbot.test")
    log.warning("login as bot with %s", PASSWORD)
    try:
        raise RuntimeError(f"refused: password={PASSWORD}")
    except RuntimeError:
        log.exception("failed")
    output = captured.getvalue()
    assert PASSWORD not in output and "s3cr3t-client" not in output
    assert output.count("********") == 2 and "RuntimeError" in output


def test_json_lines_carry_context_fields(captured) -> None:
    configure_logging(LoggingSettings(format="json"), secrets=[PASSWORD], stream=captured)
    logging.getLogger("redditbot.post").info("posted %s", PASSWORD, extra={"job_id": 42})
    entry = json.loads(captured.getvalue().strip())
    assert entry["level"] == "info" and entry["logger"] == "redditbot.post"
    assert entry["job_id"] == 42 and entry["message"] == "posted ********"
