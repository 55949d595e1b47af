"""``redditbot run``: the daemon."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import TYPE_CHECKING

from redditbot.sdnotify import SystemdNotifier, watchdog_interval

if TYPE_CHECKING:
    from redditbot.cli import Context

log = logging.getLogger(__name__)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run the bot daemon (stop with SIGTERM or Ctrl-C)")
    run.add_argument("--once", action="store_true", help="run one cycle of every stage and exit")
    run.add_argument(
        "--grace", type=float, default=30.0, help="seconds to finish in-flight work on stop"
    )
    run.add_argument(
        "--stages",
        default="all",
        help="comma-separated stages this process runs (default: all): listen,select,generate,"
        "moderate,post,schedule_posts,write_posts,moderate_posts,send_posts,housekeeping; "
        "submit names the four *_posts stages",
    )
    run.set_defaults(handler=run_daemon)


def run_daemon(ctx: Context, args: argparse.Namespace) -> int:
    """The long-lived daemon; SIGTERM/SIGINT drain it within ``--grace`` seconds."""
    from redditbot.app import Fleet
    from redditbot.logs import configure_logging, secret_values
    from redditbot.observability.server import start_for_fleet
    from redditbot.web.server import start_if_enabled

    settings = ctx.settings
    configure_logging(
        settings.logging, override=ctx.args.log_level, secrets=secret_values(settings)
    )
    for account in settings.account_names():
        settings.for_account(account).require_reddit_credentials()
    fleet = Fleet(settings)
    if args.once:
        return _run_once(ctx, fleet, args.grace)
    stages = parse_stages(args.stages)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    notifier = SystemdNotifier.from_environment()
    first = fleet.bots[0]  # the watchdog rides on its scheduler
    server = start_for_fleet(fleet.bots, settings.observability)  # "not started" meanwhile
    web = None
    try:
        web = start_if_enabled(settings, first.sessions)  # the review pages, if [web] enabled
        fleet.start(stages)
        notifier.ready(f"running {','.join(stages)} as {first.owner}")  # before any ping
        ping_every = watchdog_interval()
        if ping_every:
            first.scheduler.add("watchdog", lambda: int(notifier.watchdog()), ping_every)
        stop.wait()
        notifier.stopping()
        log.info("stop requested: draining")
        return 0 if fleet.stop(args.grace) else 1
    finally:
        if web:
            web.stop()
        if server:
            server.stop()


def _run_once(ctx: Context, fleet, grace: float) -> int:
    """One cycle of every stage. Reddit must answer first: an outage exits 69 (or bad
    credentials 78) instead of printing a cycle of zeros, since the stages only log it."""
    try:
        fleet.prepare()
        for bot in fleet.bots:
            bot.gateway.me()
        handled = fleet.run_cycle()
    finally:
        fleet.stop(grace)
    ctx.print(" ".join(f"{name}={count}" for name, count in handled.items()))
    return 0


def parse_stages(value: str) -> tuple[str, ...]:
    """``--stages``: "all" or a comma-separated subset of the pipeline's stages and groups
    (``submit``: the four stages of original posts)."""
    from redditbot.app import STAGE_ORDER, expand_stages

    if value == "all":
        return STAGE_ORDER
    return expand_stages(s.strip() for s in value.split(",") if s.strip())
