"""``redditbot history`` and ``redditbot sql``: reading the store."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from redditbot.cli.common import STATUSES
from redditbot.store import history
from redditbot.textable import add_json_option, render_rows

if TYPE_CHECKING:
    from redditbot.cli import Context


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
    parser = subparsers.add_parser("history", help="show recent reply jobs and what was posted")
    parser.add_argument("--subreddit", "-r", help="only this subreddit")
    parser.add_argument(
        "--status",
        "-s",
        choices=STATUSES,
        metavar="STATUS",
        help="only this status (one of: %(choices)s)",
    )
    parser.add_argument("--since", help="only jobs created since: 30m, 24h, 7d or an ISO date")
    parser.add_argument("--limit", "-n", type=int, default=20, help="at most this many rows")
    add_json_option(parser)
    parser.set_defaults(handler=show_history)


def show_history(ctx: Context, args: argparse.Namespace) -> int:
    """A readable table of recent reply jobs, newest first."""
    ctx.print(render_history(ctx.settings.database.url, args, as_json=args.json))
    return 0


def render_history(url: str, filters: argparse.Namespace, *, as_json: bool = False) -> str:
    """The history for ``filters`` (subreddit, status, since, limit): a table, or JSON."""
    found = history.reply_history(
        url,
        subreddit=filters.subreddit,
        status=filters.status,
        since=filters.since,
        limit=filters.limit,
        columns=history.HISTORY_JSON_COLUMNS if as_json else history.HISTORY_COLUMNS,
    )
    return render_rows(found.columns, found.rows, as_json=as_json, max_width=48)


def run_sql(ctx: Context, args: argparse.Namespace) -> int:
    """Run one query on a read-only connection; writes are refused by the database itself."""
    found = history.read_only_query(ctx.settings.database.url, args.query)
    if found.rows is None:
        ctx.print("[]" if args.json else "(no rows returned)")
    else:
        ctx.print(
            render_rows(found.columns, found.rows, as_json=args.json, max_width=args.max_width)
        )
    return 0
