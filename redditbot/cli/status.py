"""``redditbot status``: jobs by state, the last poll of each feed, clock checks, warnings."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from redditbot.cli.common import sessions
from redditbot.domain import Status
from redditbot.store import queries
from redditbot.store.models import PostJob
from redditbot.textable import add_json_option, format_table, records, to_json

if TYPE_CHECKING:
    from redditbot.cli import Context


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    status = subparsers.add_parser("status", help="jobs by state, last polls, recent errors")
    add_json_option(status)
    status.set_defaults(handler=show_status)


def show_status(ctx: Context, args: argparse.Namespace) -> int:
    """Reply and post jobs by state, the last poll of each feed, the latest clock check of each
    account, the latest warnings."""
    with sessions(ctx)() as session:
        replies = queries.count_jobs_by_status(session)
        posts = queries.count_jobs_by_status(session, model=PostJob)
        cursors = queries.poll_cursors(session)
        errors = queries.recent_warnings(session)
        checks = queries.latest_clock_checks(session)
        clocks = [
            (e.account, (e.data or {}).get("instance"), e.at, e.level, e.message) for e in checks
        ]
    feeds = [(c.account, c.feed, c.last_success_at, c.last_fullname) for c in cursors]
    clock_columns = ["account", "instance", "at", "level", "clock check"]
    feed_columns = ["account", "feed", "last_success_at", "cursor"]
    warnings = [(e.at, e.kind, e.message) for e in errors]
    if args.json:
        ctx.print(
            to_json(
                {
                    "reply_jobs": {s.value: replies.get(s.value, 0) for s in Status},
                    "post_jobs": {s.value: posts.get(s.value, 0) for s in Status},
                    "feeds": records(feed_columns, feeds),
                    "clock_checks": records(
                        ["account", "instance", "at", "level", "message"], clocks
                    ),
                    "recent_warnings": records(["at", "kind", "message"], warnings),
                }
            )
        )
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
