"""Logs: text or JSON lines, and a secret never reaches the output, even inside a traceback."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from redditbot.config import LoggingSettings, Settings, load_settings
from redditbot.logs import configure_logging, secret_values

PASSWORD = "hunter2-very-secret"


@pytest.fixture
def captured():
    stream = io.StringIO()
    yield stream
    logging.getLogger().handlers[:] = []


def log_each(secrets: list[str]) -> None:
    """Put every secret on a log line, in a message and inside a traceback."""
    log = logging.getLogger("redditbot.test")
    for secret in secrets:
        log.warning("login failed with %s", secret)
        try:
            raise RuntimeError(f"refused: {secret}")
        except RuntimeError:
            log.exception("failed")


def test_secrets_are_masked_in_messages_and_tracebacks(captured) -> None:
    settings = Settings(reddit={"password": PASSWORD, "client_secret": "s3cr3t-client"})
    configure_logging(LoggingSettings(), secrets=secret_values(settings), stream=captured)
    log_each([PASSWORD, "s3cr3t-client"])
    output = captured.getvalue()
    assert PASSWORD not in output and "s3cr3t-client" not in output
    assert output.count("login failed with ********") == 2
    assert output.count("RuntimeError: refused: ********") == 2


ACCOUNTS_TOML = """
[reddit]
client_id = "shared-app"
client_secret = "main-client-secret"
username = "first_bot"
password = "main-password"
[database]
url = "postgresql+psycopg://bot:db-password@127.0.0.1/bot"
[model]
backend = "openai"
api_key = "sk-main-model-key"
[moderation.judge]
api_key = "sk-judge-key"
[[subreddits]]
name = "learnpython"
model = { name = "other", api_key = "sk-subreddit-key" }
moderation = { judge = { api_key = "sk-subreddit-judge-key" } }
[[subreddits]]
name = "Cooking"
[[accounts]]
name = "helper"
subreddits = ["learnpython"]
[[accounts]]
name = "cook"
subreddits = ["Cooking"]
model = { api_key = "sk-account-key" }
[accounts.reddit]
username = "second_bot"
password = "second-account-password"
client_secret = "second-client-secret"
"""
ACCOUNT_SECRETS = [
    "main-client-secret", "main-password", "db-password", "sk-main-model-key",
    "sk-subreddit-key", "sk-account-key", "sk-judge-key", "sk-subreddit-judge-key",
    "second-account-password", "second-client-secret",
]  # fmt: skip


def test_every_accounts_secrets_and_api_keys_are_masked(tmp_path, captured) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(ACCOUNTS_TOML)
    settings = load_settings(path)  # the daemon masks what its loaded settings hold
    configure_logging(LoggingSettings(), secrets=secret_values(settings), stream=captured)
    log_each(ACCOUNT_SECRETS)
    output = captured.getvalue()
    assert [s for s in ACCOUNT_SECRETS if s in output] == []
    assert output.count("********") == 2 * len(ACCOUNT_SECRETS)


def test_json_lines_carry_context_fields(captured) -> None:
    configure_logging(LoggingSettings(format="json"), secrets=[PASSWORD], stream=captured)
    logging.getLogger("redditbot.post").info("posted %s", PASSWORD, extra={"job_id": 42})
    entry = json.loads(captured.getvalue().strip())
    assert entry["level"] == "info" and entry["logger"] == "redditbot.post"
    assert entry["job_id"] == 42 and entry["message"] == "posted ********"


def test_json_lines_have_a_timestamp_and_keep_every_extra_masked(captured) -> None:
    configure_logging(LoggingSettings(format="json"), secrets=[PASSWORD], stream=captured)
    log = logging.getLogger("redditbot.listen")
    extra = {"job_id": 7, "retry_in_s": 2.5, "account": "first_bot", "url": f"x://u:{PASSWORD}@h",
             "data": {"feed": "inbox", "token": PASSWORD, "tries": [1, PASSWORD]}}  # fmt: skip
    log.warning("poll failed", extra=extra)
    try:
        raise RuntimeError(f"refused {PASSWORD}")
    except RuntimeError:
        log.exception("gave up")
    first, second = (json.loads(line) for line in captured.getvalue().splitlines())
    assert "at" not in first
    stamp = datetime.fromisoformat(first["timestamp"])
    assert stamp.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - stamp) < timedelta(1)
    assert (first["level"], first["logger"], first["message"]) == ("warning", "redditbot.listen",
                                                                   "poll failed")  # fmt: skip
    assert first["retry_in_s"] == 2.5 and first["account"] == "first_bot"
    assert first["url"] == "x://u:********@h"
    assert first["data"] == {"feed": "inbox", "token": "********", "tries": [1, "********"]}
    assert second["exception"].endswith("RuntimeError: refused ********")
    assert PASSWORD not in captured.getvalue()
