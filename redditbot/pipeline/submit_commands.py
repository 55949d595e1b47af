"""``redditbot posts``: the original posts (threads the bot starts), and review of held ones."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from redditbot.domain import Status, utcnow
from redditbot.errors import ConfigError
from redditbot.store import queries
from redditbot.store.engine import make_engine, session_factory
from redditbot.store.models import PostJob
from redditbot.textable import format_table


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``posts list|approve|reject``."""
    posts = subparsers.add_parser("posts", help="list original posts; approve or reject held ones")
    actions = posts.add_subparsers(dest="posts_command", metavar="ACTION")
    listing = actions.add_parser("list", help="the newest post jobs (the default)")
    listing.add_argument("--status", help="only jobs in this state, e.g. pending_review")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
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
    posts.set_defaults(handler=posts_list, status=None, limit=20)


def _sessions(ctx: Any):
    return session_factory(make_engine(ctx.settings.database.url))


def posts_list(ctx: Any, args: argparse.Namespace) -> int:
    """The newest post jobs, optionally of one state."""
    query = select(PostJob).order_by(PostJob.id.desc()).limit(args.limit)
    if args.status:
        query = query.where(PostJob.status == Status(args.status).value)
    with _sessions(ctx)() as session:
        jobs = session.scalars(query).all()
    rows = [(j.id, j.subreddit, j.slot, j.status, j.reason, j.title) for j in jobs]
    ctx.print(format_table(["job_id", "subreddit", "slot", "status", "reason", "title"], rows, 60))
    return 0


def posts_approve(ctx: Any, args: argparse.Namespace) -> int:
    """Approve a held post; with --title/--body, an edited one (recorded as the reviewer's)."""
    edited = args.title is not None or args.body is not None
    reason = "reviewer_edited" if edited else "reviewer_approved"
    return _review(ctx, args.job_id, Status.APPROVED, reason, args.title, args.body)


def posts_reject(ctx: Any, args: argparse.Namespace) -> int:
    """Reject a held post."""
    return _review(ctx, args.job_id, Status.REJECTED, f"reviewer:{args.reason}")


def _review(ctx: Any, job_id: int, status: Status, reason: str, title=None, body=None) -> int:
    with _sessions(ctx).begin() as session:
        job = session.get(PostJob, job_id)
        if job is None or job.status != Status.PENDING_REVIEW.value:
            state = "does not exist" if job is None else f"is {job.status}, not pending_review"
            raise ConfigError(f"post job {job_id} {state}")
        job.title = job.title if title is None else title
        job.body = job.body if body is None else body
        queries.move(job, status, now=utcnow(), reason=reason)
    ctx.print(f"post job {job_id}: {status.value}")
    return 0
