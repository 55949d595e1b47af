"""What the command modules share: the store's sessions and a command group's usage."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from redditbot.domain import Status
from redditbot.errors import EXIT_USAGE
from redditbot.store.migrate import current_sessions

if TYPE_CHECKING:
    from redditbot.cli import Context

# The states a listing can be narrowed to (`--status`): a typo is a usage error, not an empty table.
STATUSES = [status.value for status in Status]


def sessions(ctx: Context) -> sessionmaker[Session]:
    """Sessions on the configured store, which must be at the current schema revision."""
    return current_sessions(ctx.settings.database.url)


def usage(parser: argparse.ArgumentParser, ctx: Context) -> int:
    """A command group given no subcommand: its help, and the usage exit code."""
    parser.print_help(ctx.out)
    return EXIT_USAGE
