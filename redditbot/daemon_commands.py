"""``redditbot run``, ``status``, ``review`` and ``sandbox`` (the demo) — the daemon's commands."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import TYPE_CHECKING

from sqlalchemy import select

from redditbot.domain import Status, utcnow
from redditbot.errors import ConfigError
from redditbot.sdnotify import SystemdNotifier, watchdog_interval
from redditbot.store import queries
from redditbot.store.migrate import current_sessions
from redditbot.store.models import Event, PollCursor, PostJob, ReplyJob
from redditbot.store.review import ReviewDecision, cli_reviewer, review_reply
from redditbot.textable import add_json_option, format_table, records, render_rows, to_json

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
        help="comma-separated stages this process runs (default: all): "
        "listen,select,generate,moderate,post,housekeeping",
    )
    run.set_defaults(handler=run_daemon)
    status = subparsers.add_parser("status", help="jobs by state, last polls, recent errors")
    add_json_option(status)
    status.set_defaults(handler=show_status)
    _add_review(subparsers)
    _add_sandbox(subparsers)


def _add_review(subparsers: argparse._SubParsersAction) -> None:
    review = subparsers.add_parser("review", help="list, approve, edit or reject held replies")
    actions = review.add_subparsers(dest="review_command", metavar="ACTION")
    listing = actions.add_parser("list", help="replies waiting in pending_review (the default)")
    add_json_option(listing)
    listing.set_defaults(handler=review_list)
    approve = actions.add_parser("approve", help="approve a held reply (optionally edited)")
    approve.add_argument("job_id", type=int, help="the reply job's id")
    approve.add_argument("--text", help="post this text instead of the draft (an edit)")
    approve.set_defaults(handler=review_approve)
    reject = actions.add_parser("reject", help="reject a held reply")
    reject.add_argument("job_id", type=int, help="the reply job's id")
    reject.add_argument("--reason", default="reviewer", help="why (recorded)")
    reject.set_defaults(handler=review_reject)
    review.set_defaults(handler=review_list, json=False)


def _add_sandbox(subparsers: argparse._SubParsersAction) -> None:
    from redditbot.reddit.sandbox.commands import add_serve_command

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


# --------------------------------------------------------------------------- run


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
    """``--stages``: "all" or a comma-separated subset of the pipeline's stages."""
    from redditbot.app import STAGE_ORDER

    if value == "all":
        return STAGE_ORDER
    stages = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = sorted(set(stages) - set(STAGE_ORDER))
    if unknown or not stages:
        raise ConfigError(f"--stages: unknown stage(s) {unknown}; choose from {list(STAGE_ORDER)}")
    return stages


# --------------------------------------------------------------------------- status


def _sessions(ctx: Context):
    return current_sessions(ctx.settings.database.url)


def show_status(ctx: Context, args: argparse.Namespace) -> int:
    """Reply and post jobs by state, the last poll of each feed, the latest clock check of each
    account, the latest warnings."""
    sessions = _sessions(ctx)
    with sessions() as session:
        replies = queries.count_jobs_by_status(session)
        posts = queries.count_jobs_by_status(session, model=PostJob)
        cursors = session.scalars(select(PollCursor).order_by(PollCursor.feed)).all()
        errors = session.scalars(
            select(Event).where(Event.level.in_(("warning", "error")))
            .order_by(Event.id.desc()).limit(10)
        ).all()  # fmt: skip
        clocks = [(e.account, (e.data or {}).get("instance"), e.at, e.level, e.message)
                  for e in _latest_clock_checks(session)]  # fmt: skip
    feeds = [(c.account, c.feed, c.last_success_at, c.last_fullname) for c in cursors]
    clock_columns = ["account", "instance", "at", "level", "clock check"]
    feed_columns = ["account", "feed", "last_success_at", "cursor"]
    warnings = [(e.at, e.kind, e.message) for e in errors]
    if args.json:
        ctx.print(to_json({
            "reply_jobs": {s.value: replies.get(s.value, 0) for s in Status},
            "post_jobs": {s.value: posts.get(s.value, 0) for s in Status},
            "feeds": records(feed_columns, feeds),
            "clock_checks": records(["account", "instance", "at", "level", "message"], clocks),
            "recent_warnings": records(["at", "kind", "message"], warnings),
        }))  # fmt: skip
        return 0
    rows = [(s.value, replies.get(s.value, 0), posts.get(s.value, 0)) for s in Status]
    ctx.print(format_table(["status", "reply jobs", "post jobs"], rows))
    ctx.print()
    ctx.print(format_table(feed_columns, feeds))
    ctx.print()
    ctx.print(format_table(clock_columns, clocks))
    ctx.print()
    ctx.print(format_table(["at", "kind", "message"], warnings))
    return 0


def _latest_clock_checks(session, recent: int = 200) -> list[Event]:
    """The latest ``clock_check`` of each instance (and account) among the recent ones: one
    instance whose clock is off must not hide behind another's later "clocks agree"."""
    query = select(Event).where(Event.kind == "clock_check").order_by(Event.id.desc()).limit(recent)
    latest: dict[tuple, Event] = {}
    for event in session.scalars(query):
        latest.setdefault((event.account, (event.data or {}).get("instance")), event)
    return sorted(latest.values(), key=lambda e: (e.account or "", e.id))


# --------------------------------------------------------------------------- review


def review_list(ctx: Context, args: argparse.Namespace) -> int:
    """Replies waiting for a person."""
    with _sessions(ctx)() as session:
        held = session.scalars(
            select(ReplyJob).where(ReplyJob.status == Status.PENDING_REVIEW.value)
            .order_by(ReplyJob.id)
        ).all()  # fmt: skip
    rows = [(j.id, j.subreddit, j.target_fullname, j.reason, j.reply_text) for j in held]
    columns = ["job_id", "subreddit", "target", "why_held", "reply_text"]
    ctx.print(render_rows(columns, rows, as_json=args.json, max_width=80))
    return 0


def _review(ctx: Context, job_id: int, approve: bool, *, text=None, reason="reviewer") -> int:
    edits = None if text is None else {"reply_text": text}
    decision = ReviewDecision(approve, reviewer=cli_reviewer(), reason=reason, edits=edits)
    with _sessions(ctx).begin() as session:
        job = review_reply(session, job_id, decision, now=utcnow())
        status = job.status
    ctx.print(f"job {job_id}: {status}")
    return 0


def review_approve(ctx: Context, args: argparse.Namespace) -> int:
    """Approve a held reply; with --text, an edited one (recorded as the reviewer's)."""
    return _review(ctx, args.job_id, True, text=args.text)


def review_reject(ctx: Context, args: argparse.Namespace) -> int:
    """Reject a held reply."""
    return _review(ctx, args.job_id, False, reason=args.reason)


# --------------------------------------------------------------------------- sandbox demo


def run_sandbox_demo(ctx: Context, args: argparse.Namespace) -> int:
    """The main job on a fresh machine: the bot against the sandbox Reddit, then its history."""
    from redditbot.demo import run_demo

    base = ctx.settings if ctx.config_path else None
    return run_demo(base, duration=args.duration, replies=args.replies, db_path=args.db,
                    seed=args.seed, out=ctx.out)  # fmt: skip
