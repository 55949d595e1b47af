"""The ``redditbot`` command line.

Settings are built once, here, and passed down. Every command is a function
``handler(ctx: Context, args: argparse.Namespace) -> int``; each command group is one thin
module of this package with an ``add_commands(subparsers)`` function, listed in
``COMMAND_MODULES``. The modules call the library (``store.queries``, ``store.review``,
``app``, ...) and format what it returns; what they share is in ``cli.common``.
Any ``RedditbotError`` (and a database or network failure from a library) becomes one line on
stderr and an exit code by meaning (``EXIT_CODES``), never a traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from redditbot import __version__
from redditbot.errors import (
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_TEMPFAIL,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    RedditbotError,
    SchemaError,
    StoreError,
    StoreUnavailable,
    TransientError,
)

if TYPE_CHECKING:
    from redditbot.config import Settings

Handler = Callable[["Context", argparse.Namespace], int]

# The command groups, in the order ``redditbot --help`` lists them.
COMMAND_MODULES = (
    "redditbot.cli.db",  # db upgrade|downgrade|check
    "redditbot.cli.history",  # history, sql
    "redditbot.cli.config",  # config check
    "redditbot.cli.moderation",  # train-moderation, moderate
    "redditbot.cli.daemon",  # run
    "redditbot.cli.status",  # status
    "redditbot.cli.review",  # review list|approve|reject
    "redditbot.cli.sandbox",  # sandbox (the demo), sandbox serve
    "redditbot.cli.model",  # model pull|info
    "redditbot.cli.posts",  # posts list|approve|reject
    "redditbot.cli.draft",  # draft
    "redditbot.cli.train",  # train, export-dataset
    "redditbot.cli.web",  # web
)

DEFAULT_CONFIG = "bot.toml"

EXIT_CODES = f"""exit codes:
  0    success
  1    a check failed, or the command could not do what was asked
  {EXIT_USAGE}    usage: unknown command or option
  {EXIT_UNAVAILABLE}   Reddit or the database is unavailable (EX_UNAVAILABLE): try again later
  {EXIT_TEMPFAIL}   another redditbot already runs on this SQLite file (EX_TEMPFAIL): start it
       again once that one has stopped, or move to PostgreSQL to run several
  {EXIT_CONFIG}   configuration (EX_CONFIG): bot.toml, secrets, credentials, the model, or a
       database schema that needs `redditbot db upgrade`; restarting will not help, fixing will
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
"""


class Context:
    """What every command gets: the parsed global options and lazily loaded settings."""

    def __init__(self, args: argparse.Namespace, out=None, err=None) -> None:
        self.args = args
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    @cached_property
    def settings(self) -> Settings:
        from redditbot.config import load_settings

        return load_settings(self.config_path, secrets_path=self.args.secrets)

    @property
    def config_path(self) -> Path | None:
        """The config file: ``--config``, else $REDDITBOT_CONFIG, else ./bot.toml if present."""
        explicit = self.args.config or os.environ.get("REDDITBOT_CONFIG")
        if explicit:
            return Path(explicit)
        default = Path(DEFAULT_CONFIG)
        return default if default.exists() else None

    def print(self, *parts: object) -> None:
        print(*parts, file=self.out)


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The full parser, with every package's commands registered."""
    parser = argparse.ArgumentParser(
        prog="redditbot",
        description="A chatbot daemon for Reddit: listen, select, generate, moderate, post.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"redditbot {__version__}")
    parser.add_argument(
        "-c", "--config", help="path to bot.toml (default: $REDDITBOT_CONFIG or ./bot.toml)"
    )
    parser.add_argument(
        "--secrets", help="TOML file with secrets, e.g. [reddit] password (default: none)"
    )
    parser.add_argument(
        "--log-level", default=None, help="override the configured log level (DEBUG, INFO, …)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an error, not one line"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, out=None, err=None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(out or sys.stdout)
        return EXIT_USAGE
    ctx = Context(args, out=out, err=err)
    # Nothing is ever fetched from a model hub at run time, whichever package loads a model first.
    for switch in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(switch, "1")
    logging.basicConfig(
        level=args.log_level or "WARNING", format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.handler(ctx, args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        error = operator_error(exc)
        if error is None:
            raise  # a bug, not an operator's mistake: the traceback is what a report needs
        if args.debug:
            exc.__suppress_context__ = False  # show what the error was translated from, too
            traceback.print_exception(exc, file=ctx.err)
        print(f"redditbot: error: {error}", file=ctx.err)
        return error.exit_code


def operator_error(exc: Exception) -> RedditbotError | None:
    """The error an operator can act on, for ``exc`` and what libraries raise; None for a bug."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, RedditbotError):
        return exc
    message = _first_line(exc.orig) if isinstance(exc, DBAPIError) else ""
    if "no such table" in message or ("relation" in message and "does not exist" in message):
        return SchemaError(f"database: {message}: run `redditbot db upgrade`")
    if isinstance(exc, OperationalError):
        return StoreUnavailable(f"database: {message}")
    if isinstance(exc, DBAPIError):
        return StoreError(f"database: {message}")
    if isinstance(exc, ConnectionError | TimeoutError):
        return TransientError(f"network: {exc}")
    return None


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
