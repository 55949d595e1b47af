"""``redditbot sandbox``: the demo (the bot end to end against the built-in sandbox Reddit,
then its history), and ``redditbot sandbox serve``: the sandbox Reddit on 127.0.0.1 alone, for
trying a configuration.
"""

from __future__ import annotations

import argparse
import random
import threading
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redditbot.errors import ConfigError
from redditbot.reddit.sandbox.activity import ActivityGenerator
from redditbot.reddit.sandbox.corpus import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
)
from redditbot.reddit.sandbox.faults import Fault
from redditbot.reddit.sandbox.server import SandboxServer
from redditbot.reddit.sandbox.world import World

if TYPE_CHECKING:
    from redditbot.cli import Context

FAULT_KEYS = set(Fault.__dataclass_fields__)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    sandbox = subparsers.add_parser(
        "sandbox",
        help="the demo: the bot end to end against the built-in sandbox Reddit, then its history",
    )
    sandbox.add_argument(
        "--duration", type=float, default=900.0, help="stop after N seconds (default 900)"
    )
    sandbox.add_argument("--replies", type=int, default=6, help="stop after N posted replies")
    sandbox.add_argument(
        "--db", default="sandbox.db", help="SQLite file for the demo (default ./sandbox.db, reset)"
    )
    sandbox.add_argument("--seed", type=int, default=1, help="seed of the simulated users")
    sandbox.set_defaults(handler=run_sandbox_demo)
    add_serve_command(sandbox.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND"))


def run_sandbox_demo(ctx: Context, args: argparse.Namespace) -> int:
    """The main job on a fresh machine: the bot against the sandbox Reddit, then its history."""
    from redditbot.demo import run_demo

    base = ctx.settings if ctx.config_path else None
    return run_demo(
        base,
        duration=args.duration,
        replies=args.replies,
        db_path=args.db,
        seed=args.seed,
        out=ctx.out,
    )


def add_serve_command(sandbox_subparsers: Any) -> None:
    """Add ``serve`` under ``redditbot sandbox``."""
    parser = sandbox_subparsers.add_parser(
        "serve",
        help="run the sandbox Reddit server (seeded corpus, optional live activity)",
        description="Serve a fake Reddit on 127.0.0.1 that PRAW talks to like the real one.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765, 0 = any)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the activity generator")
    parser.add_argument(
        "--activity",
        nargs=3,
        type=float,
        metavar=("THREADS", "COMMENTS", "MENTIONS"),
        default=(0.0, 0.0, 0.0),
        help="new threads, comments and bot mentions per second (default: 0 0 0, no activity)",
    )
    parser.add_argument(
        "--ratelimit-budget",
        type=int,
        default=1000,
        help="requests per OAuth client per 600 s window, as on Reddit (default 1000)",
    )
    parser.add_argument(
        "--token-lifetime", type=int, default=86400, help="expires_in of tokens, s (default 86400)"
    )
    parser.add_argument("--faults", type=Path, help="TOML file with [[fault]] tables to script")
    parser.add_argument(
        "--print-credentials", action="store_true", help="print a praw.ini-style credentials block"
    )
    parser.add_argument(
        "--duration", type=float, default=0.0, help="stop after this many seconds (0 = Ctrl-C)"
    )
    parser.set_defaults(handler=serve)


def serve(ctx: Any, args: argparse.Namespace) -> int:
    """Run the server until Ctrl-C (or ``--duration``)."""
    server = build_server(args)
    activity = ActivityGenerator(server.world, *args.activity, rng=random.Random(args.seed))
    with server:
        ctx.print(f"sandbox Reddit listening on {server.url}")
        _print_credentials(ctx, server, full=args.print_credentials)
        if any(args.activity):
            activity.start()
        try:
            threading.Event().wait(args.duration or None)
        except KeyboardInterrupt:
            ctx.print("stopping")
        finally:
            activity.stop()
    return 0


def build_server(args: argparse.Namespace) -> SandboxServer:
    """A seeded server configured from the parsed options, with the demo app registered."""
    server = SandboxServer(
        World.seeded(),
        host=args.host,
        port=args.port,
        token_lifetime_s=args.token_lifetime,
        ratelimit_budget=args.ratelimit_budget,
    )
    server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    for fault in load_faults(args.faults) if args.faults else []:
        server.faults.add(**fault)
    return server


def load_faults(path: Path) -> list[dict[str, Any]]:
    """Read ``[[fault]]`` tables, e.g. ``path_prefix = "/api/comment"``, ``status = 503``."""
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("fault", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read faults file {path}: {exc}") from exc
    for table in tables:
        if unknown := set(table) - FAULT_KEYS:
            raise ConfigError(f"{path}: unknown fault option(s) {sorted(unknown)}")
    return tables


def _print_credentials(ctx: Any, server: SandboxServer, *, full: bool) -> None:
    ctx.print(f"demo account: {DEMO_BOT} / {DEMO_PASSWORD}")
    ctx.print(f"OAuth app: client_id={DEMO_CLIENT_ID} client_secret={DEMO_CLIENT_SECRET}")
    if full:
        ctx.print(
            "\n[reddit]\n"
            f'client_id = "{DEMO_CLIENT_ID}"\nclient_secret = "{DEMO_CLIENT_SECRET}"\n'
            f'username = "{DEMO_BOT}"\npassword = "{DEMO_PASSWORD}"\n'
            f'oauth_url = "{server.url}"\nreddit_url = "{server.url}"\n'
            f'short_url = "{server.url}"'
        )
