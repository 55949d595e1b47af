"""What the pages show, read from the store: the review queue, the history, one job's story.

Plain queries over the models and the ``reply_history`` view; no HTTP here, so each function is
easy to call from a test. Every text that came from Reddit is returned as it is stored: the
templates escape it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from redditbot.domain import Status, ThreadContext
from redditbot.pipeline.context import thread_context
from redditbot.store.models import (
    Event,
    GenerationRow,
    ModerationVerdictRow,
    PostedReply,
    PostJob,
    ReplyJob,
    SelectionDecision,
    UTCDateTime,
)

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class Attempt:
    """One generation of a job with the output verdicts on its candidates (in their order)."""

    generation: GenerationRow
    verdicts: list[ModerationVerdictRow]

    def candidates(self) -> list[tuple[dict[str, Any], ModerationVerdictRow | None]]:
        """Each stored candidate (text, quality scores) beside its moderation verdict."""
        padded = self.verdicts + [None] * (len(self.generation.candidates) - len(self.verdicts))
        return list(zip(self.generation.candidates, padded))


@dataclass(frozen=True)
class Story:
    """Everything recorded about one reply job, oldest first."""

    job: ReplyJob
    thread: ThreadContext
    selection: SelectionDecision | None
    input_verdicts: list[ModerationVerdictRow]
    attempts: list[Attempt]
    reviews: list[ModerationVerdictRow]
    posted: PostedReply | None
    events: list[Event] = field(default_factory=list)


def story(session: Session, job_id: int) -> Story | None:
    """One reply job's story: selection, thread, every generation and verdict, what was posted."""
    job = session.get(ReplyJob, job_id)
    if job is None:
        return None
    verdicts = _verdicts(session, job_id)
    return Story(
        job=job,
        thread=thread_context(session, job.target_fullname, job.subreddit),
        selection=session.get(SelectionDecision, (job.account, job.target_fullname)),
        input_verdicts=[v for v in verdicts if v.gate == "input"],
        attempts=_attempts(session, job_id, verdicts),
        reviews=[v for v in verdicts if v.gate == "review"],
        posted=session.scalars(select(PostedReply).where(PostedReply.job_id == job_id)).first(),
        events=_reply_events(session, job_id),
    )


def _verdicts(session: Session, job_id: int) -> list[ModerationVerdictRow]:
    query = select(ModerationVerdictRow).where(ModerationVerdictRow.job_id == job_id)
    return list(session.scalars(query.order_by(ModerationVerdictRow.id)))


def _attempts(session: Session, job_id: int, verdicts: list[ModerationVerdictRow]):
    query = select(GenerationRow).where(GenerationRow.job_id == job_id).order_by(GenerationRow.id)
    return [
        Attempt(g, [v for v in verdicts if v.gate == "output" and v.generation_id == g.id])
        for g in session.scalars(query)
    ]


def _reply_events(session: Session, job_id: int) -> list[Event]:
    # events.job_id also holds post job ids (the submit stage's events, and reviews of posts):
    # keep the reply's own. The submit stage's "duplicate_deleted" cannot be told apart.
    query = select(Event).where(Event.job_id == job_id).order_by(Event.id)
    return [e for e in session.scalars(query) if not _about_a_post(e)]


def _about_a_post(event: Event) -> bool:
    return (event.data or {}).get("job_kind") == "post" or event.kind.startswith("submit")


def review_queue(session: Session) -> tuple[list[Story], list[PostJob]]:
    """Held replies (each with its story) and held original posts, oldest first."""
    held = select(ReplyJob.id).where(ReplyJob.status == Status.PENDING_REVIEW)
    replies = [story(session, job_id) for job_id in session.scalars(held.order_by(ReplyJob.id))]
    posts = session.scalars(
        select(PostJob).where(PostJob.status == Status.PENDING_REVIEW).order_by(PostJob.id)
    )
    return [s for s in replies if s is not None], list(posts)


@dataclass(frozen=True)
class HistoryFilters:
    """The history page's filters; empty ones do not filter."""

    subreddit: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    search: str = ""
    limit: int = 50


def history(session: Session, filters: HistoryFilters) -> list[dict[str, Any]]:
    """Rows of the ``reply_history`` view, newest first; the search looks in every text."""
    clauses, params = [], {"limit": min(max(filters.limit, 1), HISTORY_LIMIT)}
    if filters.subreddit:
        clauses.append("lower(subreddit) = lower(:subreddit)")
        params["subreddit"] = filters.subreddit.removeprefix("r/")
    if filters.status:
        clauses.append("status = :status")
        params["status"] = Status(filters.status).value
    if filters.since:
        clauses.append("created_at >= :since")
        params["since"] = filters.since
    if filters.until:
        clauses.append("created_at < :until")
        params["until"] = filters.until
    if filters.search:
        texts = ("reply_text", "target_excerpt", "thread_title", "target_author", "reason")
        found = " OR ".join(f"lower(COALESCE({t}, '')) LIKE :search ESCAPE '!'" for t in texts)
        clauses.append(f"({found})")
        params["search"] = f"%{_like_escaped(filters.search.lower())}%"
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    query = text(f"SELECT * FROM reply_history {where} ORDER BY job_id DESC LIMIT :limit")
    query = query.bindparams(
        *(bindparam(name, type_=UTCDateTime()) for name in ("since", "until") if name in params)
    )
    return [dict(row) for row in session.execute(query, params).mappings()]


def _like_escaped(value: str) -> str:
    """The search taken literally: % and _ (and the escape character) lose their meaning."""
    return value.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def subreddits(session: Session) -> list[str]:
    """Subreddits that have reply jobs, for the history filter."""
    query = select(ReplyJob.subreddit).distinct().order_by(ReplyJob.subreddit)
    return list(session.scalars(query))
