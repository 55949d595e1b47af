"""``redditbot history`` and ``redditbot sql``: reading the store."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, text
from sqlalchemy.exc import DBAPIError

from redditbot.errors import SchemaError, StoreError
from redditbot.store.engine import make_engine
from redditbot.store.models import UTCDateTime
from redditbot.store.queries import parse_since
from redditbot.textable import add_json_option, render_rows

if TYPE_CHECKING:
    from redditbot.cli import Context

READ_ONLY_MARKERS = ("readonly", "read-only", "read only", "query_only")
HISTORY_COLUMNS = (
    "job_id, subreddit, status, reason, target_author, target_excerpt, reply_text, model, "
    "created_at, posted_at, reply_fullname"
)
# JSON is for scripts, which need the thread item a job answers (the table shows its author)
HISTORY_JSON_COLUMNS = f"{HISTORY_COLUMNS}, target_fullname"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    _add_history(subparsers)
    sql = subparsers.add_parser(
        "sql", help="run one read-only SQL query on the store and print the result as a table"
    )
    sql.add_argument("query", help='the query, e.g. "SELECT * FROM reply_history LIMIT 10"')
    sql.add_argument("--max-width", type=int, default=60, help="cut cells to this many characters")
    add_json_option(sql)
    sql.set_defaults(handler=run_sql)


def _add_history(subparsers: argparse._SubParsersAction) -> None:
    history = subparsers.add_parser("history", help="show recent reply jobs and what was posted")
    history.add_argument("--subreddit", "-r", help="only this subreddit")
    history.add_argument("--status", "-s", help="only this status (posted, skipped, rejected, …)")
    history.add_argument("--since", help="only jobs created since: 30m, 24h, 7d or an ISO date")
    history.add_argument("--limit", "-n", type=int, default=20, help="at most this many rows")
    add_json_option(history)
    history.set_defaults(handler=show_history)


def show_history(ctx: Context, args: argparse.Namespace) -> int:
    """A readable table of recent reply jobs, newest first."""
    ctx.print(render_history(ctx.settings.database.url, args, as_json=args.json))
    return 0


def render_history(url: str, filters: argparse.Namespace, *, as_json: bool = False) -> str:
    """The history for ``filters`` (subreddit, status, since, limit): a table, or JSON."""
    query, params = _history_query(filters, HISTORY_JSON_COLUMNS if as_json else HISTORY_COLUMNS)
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            result = _execute(connection, query, params)
            return render_rows(list(result.keys()), result.fetchall(), as_json=as_json,
                               max_width=48)  # fmt: skip
    finally:
        engine.dispose()


def _history_query(args: argparse.Namespace, columns: str = HISTORY_COLUMNS):
    filters, params = [], {"limit": args.limit}
    if args.subreddit:
        filters.append("lower(subreddit) = lower(:subreddit)")
        params["subreddit"] = args.subreddit.removeprefix("r/")
    if args.status:
        filters.append("status = :status")
        params["status"] = args.status
    if args.since:
        filters.append("created_at >= :since")
        params["since"] = parse_since(args.since)
    where = f"WHERE {' AND '.join(filters)}" if filters else ""
    sql = f"SELECT {columns} FROM reply_history {where} ORDER BY job_id DESC LIMIT :limit"
    query = text(sql)
    if args.since:
        query = query.bindparams(bindparam("since", type_=UTCDateTime()))
    return query, params


def run_sql(ctx: Context, args: argparse.Namespace) -> int:
    """Run one query on a read-only connection; writes are refused by the database itself."""
    engine = make_engine(ctx.settings.database.url, read_only=True)
    try:
        with engine.connect() as connection:
            result = _execute(connection, text(args.query), {})
            if not result.returns_rows:
                ctx.print("[]" if args.json else "(no rows returned)")
                return 0
            columns, rows = list(result.keys()), result.fetchall()
            ctx.print(render_rows(columns, rows, as_json=args.json, max_width=args.max_width))
    finally:
        engine.dispose()
    return 0


def _execute(connection, query, params):
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
