"""Reading the store as an operator does: the reply history, and one read-only SQL query.

Both run on a read-only connection (writes are refused by the database itself), and a failure
becomes an error that says what to do: the schema missing, a write refused, a bad query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from redditbot.errors import ConfigError, SchemaError, StoreError
from redditbot.store.engine import make_engine
from redditbot.store.models import UTCDateTime

READ_ONLY_MARKERS = ("readonly", "read-only", "read only", "query_only")
HISTORY_COLUMNS = (
    "job_id, subreddit, status, reason, target_author, target_excerpt, reply_text, model, "
    "created_at, posted_at, reply_fullname"
)
# JSON is for scripts, which need the thread item a job answers (the table shows its author)
HISTORY_JSON_COLUMNS = f"{HISTORY_COLUMNS}, target_fullname"


@dataclass(frozen=True)
class Rows:
    """What a read returned: the column names and the rows (``None``: not a query of rows)."""

    columns: list[str]
    rows: Sequence[Sequence[Any]] | None


def reply_history(
    url: str,
    *,
    subreddit: str | None = None,
    status: str | None = None,
    since: str | None = None,
    limit: int = 20,
    columns: str = HISTORY_COLUMNS,
) -> Rows:
    """The newest rows of the ``reply_history`` view, optionally of one subreddit or state, or
    created since ``since`` (``parse_since``)."""
    filters, params = [], {"limit": limit}
    if subreddit:
        filters.append("lower(subreddit) = lower(:subreddit)")
        params["subreddit"] = subreddit.removeprefix("r/")
    if status:
        filters.append("status = :status")
        params["status"] = status
    if since:
        filters.append("created_at >= :since")
        params["since"] = parse_since(since)
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    sql = f"SELECT {columns} FROM reply_history {where} ORDER BY job_id DESC LIMIT :limit"
    query = text(sql)
    if since:
        query = query.bindparams(bindparam("since", type_=UTCDateTime()))
    return _read(url, query, params)


def read_only_query(url: str, sql: str) -> Rows:
    """One operator's query on a read-only connection."""
    return _read(url, text(sql), {})


def _read(url: str, query, params: dict[str, Any]) -> Rows:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            result = _execute(connection, query, params)
            if not result.returns_rows:
                return Rows([], None)
            return Rows(list(result.keys()), result.fetchall())
    finally:
        engine.dispose()


def _execute(connection: Connection, query, params: dict[str, Any]):
    try:
        return connection.execute(query, params)
    except DBAPIError as exc:
        message = str(exc.orig).strip().splitlines()[0]
        if any(marker in message.lower() for marker in READ_ONLY_MARKERS):
            raise StoreError(
                "refused: `redditbot sql` runs on a read-only connection and cannot change "
                f"the database ({message})"
            ) from None
        if "no such table" in message or "does not exist" in message:
            database = connection.engine.url.render_as_string(hide_password=True)
            raise SchemaError(
                f"query failed on the database {database}: {message} (has the schema been "
                "created? run `redditbot db upgrade`)"
            ) from None
        raise StoreError(f"query failed: {message}") from None


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``30m``, ``24h``, ``7d`` (ago) or an ISO date/datetime (UTC when no zone is given)."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"(\d+)\s*([smhd])", value.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return now - timedelta(**{unit: int(match[1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since {value!r}: use 30m, 24h, 7d or an ISO date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
