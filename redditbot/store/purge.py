"""Purging text the store holds of items gone from Reddit (deleted, removed, author deleted).

Reddit's Data API terms: content deleted by its author or removed from Reddit, and the data of
deleted accounts, must be deleted from stored copies too. ``purge`` blanks the rows' text and
author, marks them ``purged_at`` (exports, training and few-shot skip such rows) and redacts the
copies in stored prompts and candidates. No commit here: the caller owns the transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from redditbot.domain import Comment, Submission
from redditbot.generation.text import clean_reddit_text
from redditbot.store.models import (
    CommentRow,
    Event,
    GenerationRow,
    PostJob,
    ReplyJob,
    SubmissionRow,
)

PURGED = "[purged]"
PURGED_PROMPT = "[purged: the comment this answered was deleted on Reddit]"
MIN_FRAGMENT = 8  # shorter lines are too common to find copies of by text


@dataclass
class PurgeCounts:
    """What was purged (recorded in the event's ``data``)."""

    checked: int = 0
    requests: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    comments: int = 0
    submissions: int = 0
    generations: int = 0
    post_jobs: int = 0

    @property
    def rows(self) -> int:
        return self.comments + self.submissions

    def data(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "requests": self.requests,
            "reasons": dict(self.reasons),
            "comments": self.comments,
            "submissions": self.submissions,
            "generations": self.generations,
            "post_jobs": self.post_jobs,
        }

    def summary(self) -> str:
        why = ", ".join(f"{reason} {count}" for reason, count in sorted(self.reasons.items()))
        return (
            f"checked {self.checked} items in {self.requests} requests; purged "
            f"{self.comments} comments, {self.submissions} submissions ({why or 'none'}), "
            f"{self.generations} prompts, {self.post_jobs} post prompts"
        )


def record(session: Session, counts: PurgeCounts, *, now: datetime, account: str) -> None:
    """One ``purge`` event with the counts (the audit trail of what was purged, never the text)."""
    session.add(
        Event(kind="purge", message=counts.summary(), at=now, account=account, data=counts.data())
    )


def gone_reason(item: Submission | Comment) -> str | None:
    """Why an item Reddit returned must be purged, or None while it stands."""
    if item.deleted:
        return "deleted"
    if item.removed:
        return "removed"
    if item.author in (None, "[deleted]"):
        return "account_deleted"
    return None


def purge(
    session: Session, gone: dict[str, str], now: datetime, counts: PurgeCounts | None = None
) -> PurgeCounts:
    """Purge the stored ``gone`` items ({fullname: reason}) not purged yet, everything their
    deleted authors wrote, and the copies of their text."""
    run = counts or PurgeCounts()
    rows = _rows(session, gone)
    authors = {r.author for r in rows if gone[r.fullname] == "account_deleted" and r.author}
    rows += [r for r in _rows_by(session, authors) if r.fullname not in gone]
    found = [text_fragments(row) for row in rows]  # before the text is blanked
    fragments = sorted({f for fs in found for f in fs}, key=len, reverse=True)
    probes = [fs[0] for fs in found if fs]  # each row's longest line finds its copies
    targets = {r.fullname for r in rows}
    for row in rows:
        run.reasons[gone.get(row.fullname, "account_deleted")] += 1
        _blank(row, gone.get(row.fullname, "account_deleted"), now)
        if isinstance(row, CommentRow):
            run.comments += 1
        else:
            run.submissions += 1
    if rows:
        run.generations += _redact_generations(session, targets, fragments, probes)
        run.post_jobs += _redact_post_jobs(session, fragments, probes)
    return run


def _rows(session: Session, names: Iterable[str]) -> list[CommentRow | SubmissionRow]:
    names = list(names)
    found: list[CommentRow | SubmissionRow] = []
    for model in (CommentRow, SubmissionRow):
        query = select(model).where(model.fullname.in_(names), model.purged_at.is_(None))
        found += session.scalars(query)
    return found


def _rows_by(session: Session, authors: set[str]) -> list[CommentRow | SubmissionRow]:
    if not authors:
        return []
    found: list[CommentRow | SubmissionRow] = []
    for model in (CommentRow, SubmissionRow):
        query = select(model).where(model.author.in_(authors), model.purged_at.is_(None))
        found += session.scalars(query)
    return found


def _blank(row: CommentRow | SubmissionRow, reason: str, now: datetime) -> None:
    marker = "[removed]" if reason == "removed" else "[deleted]"
    row.author, row.purged_at = None, now
    if reason == "removed":
        row.removed = True
    else:
        row.deleted = True
    if isinstance(row, CommentRow):
        row.body = marker
    else:
        row.title, row.selftext, row.url = marker, "", ""


def text_fragments(row: CommentRow | SubmissionRow) -> list[str]:
    """The row's text lines as they may appear in a stored prompt (raw and cleaned)."""
    texts = [row.body] if isinstance(row, CommentRow) else [row.title, row.selftext]
    variants = [v for t in texts if t for v in (t, clean_reddit_text(t))]
    lines = {line.strip() for v in variants for line in v.split("\n")}
    return sorted((line for line in lines if len(line) >= MIN_FRAGMENT), key=len, reverse=True)


def redact(text: str, fragments: Sequence[str]) -> str:
    """``text`` with every fragment replaced by ``[purged]`` (longest first)."""
    for fragment in fragments:
        text = text.replace(fragment, PURGED)
    return text


def _redact_generations(
    session: Session, targets: set[str], fragments: Sequence[str], probes: Sequence[str]
) -> int:
    """Prompts of jobs that answered a purged item are dropped whole; other copies redacted."""
    in_thread = or_(ReplyJob.target_fullname.in_(targets), ReplyJob.link_fullname.in_(targets))
    related = [GenerationRow.job_id.in_(select(ReplyJob.id).where(in_thread))]
    related += [GenerationRow.prompt.contains(p, autoescape=True) for p in probes]
    query = select(GenerationRow, ReplyJob.target_fullname).join(
        ReplyJob, ReplyJob.id == GenerationRow.job_id
    )
    changed = 0
    for generation, target in session.execute(query.where(or_(*related))):
        prompt = PURGED_PROMPT if target in targets else redact(generation.prompt, fragments)
        generation.prompt, generation.output = prompt, redact(generation.output, fragments)
        generation.candidates = [_redacted_candidate(c, fragments) for c in generation.candidates]
        changed += 1
    return changed


def _redacted_candidate(candidate: object, fragments: Sequence[str]) -> object:
    if isinstance(candidate, dict) and isinstance(candidate.get("text"), str):
        return candidate | {"text": redact(candidate["text"], fragments)}
    return candidate


def _redact_post_jobs(session: Session, fragments: Sequence[str], probes: Sequence[str]) -> int:
    """Original posts' prompts hold stored threads as few-shot examples."""
    if not probes:
        return 0
    copies = or_(*[PostJob.prompt.contains(p, autoescape=True) for p in probes])
    changed = 0
    for job in session.scalars(select(PostJob).where(copies)):
        job.prompt = redact(job.prompt or "", fragments)
        changed += 1
    return changed
