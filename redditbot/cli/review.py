"""``redditbot review``: list, approve, edit or reject the replies held for a person; and
``decide``, the command line's one review path, which ``redditbot posts`` takes too."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from redditbot.cli.common import sessions
from redditbot.domain import utcnow
from redditbot.store import queries
from redditbot.store.review import KINDS, Kind, ReviewDecision, cli_reviewer, review
from redditbot.textable import add_json_option, render_rows

if TYPE_CHECKING:
    from redditbot.cli import Context


def add_commands(subparsers: argparse._SubParsersAction) -> None:
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


def review_list(ctx: Context, args: argparse.Namespace) -> int:
    """Replies waiting for a person."""
    with sessions(ctx)() as session:
        held = queries.held_replies(session)
    rows = [(j.id, j.subreddit, j.target_fullname, j.reason, j.reply_text) for j in held]
    columns = ["job_id", "subreddit", "target", "why_held", "reply_text"]
    ctx.print(render_rows(columns, rows, as_json=args.json, max_width=80))
    return 0


def review_approve(ctx: Context, args: argparse.Namespace) -> int:
    """Approve a held reply; with --text, an edited one (recorded as the reviewer's)."""
    edits = None if args.text is None else {"reply_text": args.text}
    return decide(ctx, "reply", args.job_id, True, edits=edits)


def review_reject(ctx: Context, args: argparse.Namespace) -> int:
    """Reject a held reply."""
    return decide(ctx, "reply", args.job_id, False, reason=args.reason)


def decide(
    ctx: Context,
    kind: Kind,
    job_id: int,
    approve: bool,
    *,
    edits: dict[str, str] | None = None,
    reason: str = "reviewer",
) -> int:
    """The command line's review of a held reply or post (``redditbot review``, ``redditbot
    posts``): store.review moves it and records the verdict, the reviewer and any edit."""
    decision = ReviewDecision(approve, reviewer=cli_reviewer(), reason=reason, edits=edits)
    with sessions(ctx).begin() as session:
        status = review(session, kind, job_id, decision, now=utcnow()).status
    ctx.print(f"{KINDS[kind].label} {job_id}: {status}")
    return 0
