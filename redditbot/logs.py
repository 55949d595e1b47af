"""Logging: text for people or JSON lines for collectors; secrets are masked on the way out.

JSON lines come from python-json-logger: a standard ``timestamp`` (ISO 8601, UTC), ``level``,
``logger``, ``message``, ``exception`` when there is one, and every ``extra=`` field as given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

from redditbot.config import SECRET_KEYS

MASK = "********"
# LogRecord's own attributes (and what logging adds while formatting); the rest are extras.
STANDARD_ATTRIBUTES = frozenset(RESERVED_ATTRS) | {"taskName"}


class RedactSecrets(logging.Filter):
    """Replaces every known secret value in a record's message with a mask."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for name, value in list(vars(record).items()):
            if name not in STANDARD_ATTRIBUTES:  # an extra= field: kept, but masked too
                setattr(record, name, self.redact_value(value))
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def redact_value(self, value: Any) -> Any:
        """``value`` with secrets masked in every string inside it (dicts, lists, tuples)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_value(item) for item in value)
        return value


class JsonFormatter(LibraryJsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, exception, every extra."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            timestamp=True,  # "timestamp": ISO 8601 in UTC, from the record's creation time
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            json_default=str,
        )

    def add_fields(self, log_record: dict[str, Any], record, message_dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["level"] = record.levelname.lower()


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
