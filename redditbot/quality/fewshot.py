"""Few-shot examples per subreddit, taken from threads the bot has stored.

An example is a real exchange of that community: a thread (and the comment answered, if any)
with the reply people scored highest. The thread being answered is never its own example, and
the bot's own comments are never examples (the bot would learn from itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redditbot.domain import ThreadContext
from redditbot.store.models import CommentRow, SubmissionRow

Example = tuple[ThreadContext, str]
STORED_CANDIDATES = 200  # best-scored comments considered per call


@dataclass(frozen=True)
class ExampleSource:
    """A reply people wrote, what it answered, and how they scored it."""

    context: ThreadContext
    reply: str
    score: int
    link_id: str  # the thread it belongs to, "t3_…"


def few_shot_examples(
    sources: Iterable[ExampleSource],
    *,
    count: int,
    max_chars: int,
    exclude_link: str | None = None,
) -> tuple[Example, ...]:
    """The ``count`` best-scored short replies, at most one per thread, best first."""
    chosen: list[ExampleSource] = []
    threads: set[str] = set()
    for source in sorted(sources, key=lambda s: -s.score):
        if len(chosen) == count:
            break
        usable = 0 < len(source.reply.strip()) <= max_chars
        if usable and source.link_id != exclude_link and source.link_id not in threads:
            chosen.append(source)
            threads.add(source.link_id)
    return tuple((s.context, s.reply.strip()) for s in chosen)


def stored_examples(
    session: Session,
    subreddit: str,
    *,
    count: int,
    max_chars: int,
    exclude_link: str | None = None,
) -> tuple[Example, ...]:
    """Few-shot examples from the store's comments of ``subreddit`` (none stored: none)."""
    if count == 0:
        return ()
    rows = session.scalars(
        select(CommentRow)
        .where(
            func.lower(CommentRow.subreddit) == subreddit.lower(),
            CommentRow.bot_account.is_(None),
            CommentRow.removed.is_(False),
            CommentRow.deleted.is_(False),
            CommentRow.purged_at.is_(None),
            func.length(CommentRow.body) <= max_chars,
        )
        .order_by(CommentRow.score.desc(), CommentRow.fullname)
        .limit(STORED_CANDIDATES)
    )
    sources = (_source(session, row) for row in rows)
    return few_shot_examples(
        (s for s in sources if s is not None),
        count=count,
        max_chars=max_chars,
        exclude_link=exclude_link,
    )


def stored_reply_lengths(session: Session, subreddit: str, *, limit: int = 200) -> list[int]:
    """Lengths of the newest people's replies stored for ``subreddit`` (never the bot's)."""
    rows = session.scalars(
        select(func.length(CommentRow.body))
        .where(
            func.lower(CommentRow.subreddit) == subreddit.lower(),
            CommentRow.bot_account.is_(None),
            CommentRow.removed.is_(False),
            CommentRow.deleted.is_(False),
        )
        .order_by(CommentRow.created_utc.desc())
        .limit(limit)
    )
    return [int(n) for n in rows if n]


def _source(session: Session, row: CommentRow) -> ExampleSource | None:
    post = session.get(SubmissionRow, row.link_fullname)
    if post is None or post.purged_at is not None:
        return None
    answers_comment = row.parent_fullname.startswith("t1_")
    parent = session.get(CommentRow, row.parent_fullname) if answers_comment else None
    if answers_comment and (parent is None or parent.purged_at is not None):
        return None  # the answered comment is not stored: the example would make no sense
    context = ThreadContext(
        subreddit=post.subreddit,
        title=post.title,
        selftext=post.selftext,
        submission_author=post.author,
        target_author=parent.author if parent else None,
        target_body=parent.body if parent else None,
    )
    return ExampleSource(context, row.body, row.score, row.link_fullname)
