"""``redditbot web``: the review and history pages in the foreground."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``web``."""
    web = subparsers.add_parser(
        "web", help="serve the review and history pages (login: [web] password)"
    )
    web.add_argument("--host", help="address to bind (default: [web] host, 127.0.0.1)")
    web.add_argument("--port", type=int, help="port (default: [web] port, 8080)")
    web.set_defaults(handler=serve_web)


def serve_web(ctx: Any, args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM, whether or not ``[web] enabled`` is set (that is for
    ``redditbot run``)."""
    from redditbot.logs import configure_logging, secret_values
    from redditbot.store.engine import make_engine, session_factory
    from redditbot.web.server import build_server

    settings = ctx.settings
    settings.web.require_password()
    configure_logging(
        settings.logging, override=ctx.args.log_level, secrets=secret_values(settings)
    )
    sessions = session_factory(make_engine(settings.database.url))
    server = build_server(settings, sessions, host=args.host, port=args.port)
    server.bind()
    ctx.print(f"review pages on {server.url} (Ctrl-C stops)")
    server.run_bound()
    return 0
