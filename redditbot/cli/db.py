"""``redditbot db upgrade|downgrade|check``: the database schema (Alembic migrations)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from redditbot.cli.common import usage
from redditbot.cli.config import redact_url
from redditbot.errors import StoreUnavailable
from redditbot.store import migrate

if TYPE_CHECKING:
    from redditbot.cli import Context


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="manage the database schema (Alembic migrations)")
    db_sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    up = db_sub.add_parser("upgrade", help="create or upgrade the schema to the newest revision")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    up.set_defaults(handler=db_upgrade)
    down = db_sub.add_parser("downgrade", help="step the schema back (default: one revision)")
    down.add_argument("revision", nargs="?", default="-1", help="target revision, or 'base'")
    down.set_defaults(handler=db_downgrade)
    check = db_sub.add_parser(
        "check", help="fail when the database is not at the newest revision or differs from models"
    )
    check.set_defaults(handler=db_check)
    db.set_defaults(handler=lambda ctx, args: usage(db, ctx))


def db_upgrade(ctx: Context, args: argparse.Namespace) -> int:
    """Apply migrations up to the given revision."""
    url = ctx.settings.database.url
    _guard_connection(lambda: migrate.upgrade(url, args.revision))
    ctx.print(f"database {redact_url(url)} is at revision {args.revision}")
    return 0


def db_downgrade(ctx: Context, args: argparse.Namespace) -> int:
    """Revert migrations down to the given revision."""
    url = ctx.settings.database.url
    _guard_connection(lambda: migrate.downgrade(url, args.revision))
    ctx.print(f"database {redact_url(url)} downgraded to {args.revision}")
    return 0


def db_check(ctx: Context, args: argparse.Namespace) -> int:
    """Exit 1 and list the problems when the schema and the models disagree."""
    problems = _guard_connection(lambda: migrate.schema_problems(ctx.settings.database.url))
    for problem in problems:
        ctx.print(f"drift: {problem}")
    if not problems:
        ctx.print(f"schema is current (revision {migrate.head_revision()})")
    return 1 if problems else 0


def _guard_connection(action):
    try:
        return action()
    except OperationalError as exc:
        raise StoreUnavailable(f"cannot reach the database: {exc.orig}") from None
