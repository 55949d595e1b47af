"""``redditbot posts``: the original posts (threads the bot starts), and review of held ones."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from redditbot.cli.common import STATUSES, sessions
from redditbot.cli.review import decide
from redditbot.domain import Status
from redditbot.store import queries
from redditbot.textable import add_json_option, render_rows

if TYPE_CHECKING:
    from redditbot.cli import Context


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``posts list|approve|reject``."""
    posts = subparsers.add_parser("posts", help="list original posts; approve or reject held ones")
    actions = posts.add_subparsers(dest="posts_command", metavar="ACTION")
    listing = actions.add_parser("list", help="the newest post jobs (the default)")
    listing.add_argument(
        "--status",
        choices=STATUSES,
        metavar="STATUS",
        help="only jobs in this state, e.g. pending_review (one of: %(choices)s)",
    )
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    add_json_option(listing)
    listing.set_defaults(handler=posts_list)
    approve = actions.add_parser("approve", help="approve a held post (optionally edited)")
    approve.add_argument("job_id", type=int, help="the post job's id")
    approve.add_argument("--title", help="post this title instead of the draft's")
    approve.add_argument("--body", help="post this body instead of the draft's")
    approve.set_defaults(handler=posts_approve)
    reject = actions.add_parser("reject", help="reject a held post")
    reject.add_argument("job_id", type=int, help="the post job's id")
    reject.add_argument("--reason", default="reviewer", help="why (recorded)")
    reject.set_defaults(handler=posts_reject)
    posts.set_defaults(handler=posts_list, status=None, limit=20, json=False)


def posts_list(ctx: Context, args: argparse.Namespace) -> int:
    """The newest post jobs, optionally of one state."""
    status = Status(args.status) if args.status else None
    with sessions(ctx)() as session:
        jobs = queries.newest_post_jobs(session, status=status, limit=args.limit)
    rows = [(j.id, j.subreddit, j.slot, j.status, j.reason, j.title) for j in jobs]
    columns = ["job_id", "subreddit", "slot", "status", "reason", "title"]
    ctx.print(render_rows(columns, rows, as_json=args.json))
    return 0


def posts_approve(ctx: Context, args: argparse.Namespace) -> int:
    """Approve a held post; with --title/--body, an edited one (recorded as the reviewer's)."""
    edits = {k: v for k, v in (("title", args.title), ("body", args.body)) if v is not None}
    return decide(ctx, "post", args.job_id, True, edits=edits)


def posts_reject(ctx: Context, args: argparse.Namespace) -> int:
    """Reject a held post."""
    return decide(ctx, "post", args.job_id, False, reason=args.reason)
