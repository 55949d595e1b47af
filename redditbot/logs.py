"""Logging: text for people or JSON lines for collectors; secrets are masked on the way out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

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
    """The secrets in the settings, to be masked wherever they might be printed."""
    values = [settings.reddit.password, settings.reddit.client_secret]
    api_key = getattr(settings.model, "api_key", None)
    if api_key is not None:
        values.append(api_key)
    return [v.get_secret_value() if hasattr(v, "get_secret_value") else str(v) for v in values]
