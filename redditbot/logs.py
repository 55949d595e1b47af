"""Logging: text for people or JSON lines for collectors; secrets are masked on the way out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from redditbot.config import SECRET_KEYS

MASK = "********"
CONTEXT_FIELDS = ("job_id", "fullname", "subreddit", "feed", "stage")


class RedactSecrets(logging.Filter):
    """Replaces every known secret value in a record's message with a mask."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, MASK)
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: at, level, logger, message, and any context fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: getattr(record, k) for k in CONTEXT_FIELDS if hasattr(record, k)}
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def configure_logging(
    settings: Any, *, override: str | None = None, secrets=(), stream: Any = None
) -> None:
    """Root logging per ``[logging]`` (level, format) to stderr (or ``stream``), secrets masked."""
    handler = logging.StreamHandler(stream)
    if settings.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(override or settings.level)
    for noisy in ("apscheduler", "urllib3", "prawcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def secret_values(settings: Any) -> list[str]:
    """Every secret in the settings, to be masked wherever it might be printed: ``[reddit]``'s,
    each ``[[accounts]]`` table's, every API key (``[model]`` and its overrides) and the
    password in any URL (the database's)."""
    found: list[str] = []
    _collect_secrets(settings.model_dump(), "", found)
    return [value for value in found if value]


def _collect_secrets(data: Any, key: str, found: list[str]) -> None:
    if isinstance(data, dict):
        for name, value in data.items():
            _collect_secrets(value, str(name), found)
    elif isinstance(data, list | tuple):
        for value in data:
            _collect_secrets(value, key, found)
    elif isinstance(data, SecretStr):
        found.append(data.get_secret_value())
    elif isinstance(data, str) and key in SECRET_KEYS:
        found.append(data)  # an override table holds plain strings: its keys say what they are
    elif isinstance(data, str) and "://" in data:
        found.append(urlsplit(data).password or "")
