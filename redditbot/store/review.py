"""A person's decision on a held reply or post: the one review path of the CLI and the web pages.

Approving (optionally with an edit) or rejecting a job in ``pending_review`` moves it along the
state machine and records who decided what and when: the reviewer's verdict where the kind keeps
its moderation verdicts (a reply: a ``gate = 'review'`` row in ``moderation_verdicts``; a post:
``review`` in its ``verdict``), and a ``review`` event whose data names the reviewer and the text
before and after an edit. ``review`` is the path; ``KINDS`` says what differs between the kinds.
Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from redditbot.domain import Status
from redditbot.errors import RedditbotError
from redditbot.store import queries
from redditbot.store.models import Job, ModerationVerdictRow, PostJob, ReplyJob

Kind = Literal["reply", "post"]


class NotHeld(RedditbotError):
    """The job does not exist or is not waiting for a person (someone else decided first).
    Not a configuration mistake: the command could not do what was asked (exit code 1)."""


@dataclass(frozen=True)
class ReviewDecision:
    """What a reviewer decided. ``edits`` maps a field (``reply_text``, ``title``, ``body``) to
    the reviewer's text; a field left out, or given unchanged, keeps the bot's draft."""

    approve: bool
    reviewer: str
    reason: str = "reviewer"  # why, for a rejection
    edits: dict[str, str] | None = None

    @property
    def status(self) -> Status:
        return Status.APPROVED if self.approve else Status.REJECTED


def cli_reviewer() -> str:
    """The reviewer recorded for the command line: ``cli:<login name>`` at the terminal."""
    return f"cli:{getpass.getuser()}"


def review(session: Session, kind: Kind, job_id: int, decision: ReviewDecision, *, now: datetime):
    """Approve, edit and approve, or reject the held job ``job_id`` of ``kind``; returns it."""
    spec = KINDS[kind]
    job = _held(session, spec.model, job_id, spec.label)
    reason, changed = _apply(job, decision, spec.fields)
    verdict = {
        "decision": "approve" if decision.approve else "reject",
        "reasons": [reason],
        "checks": [{"name": "reviewer", "reason": decision.reviewer}],
    }
    spec.record_verdict(session, job, verdict, now)
    _record(session, job, kind, decision, reason, changed, now)
    return job


def review_reply(session: Session, job_id: int, decision: ReviewDecision, *, now: datetime):
    """``review`` of a held reply job."""
    return review(session, "reply", job_id, decision, now=now)


def review_post(session: Session, job_id: int, decision: ReviewDecision, *, now: datetime):
    """``review`` of a held original post."""
    return review(session, "post", job_id, decision, now=now)


def _reply_verdict(session: Session, job: ReplyJob, verdict: dict[str, Any], now: datetime):
    session.add(ModerationVerdictRow(job_id=job.id, gate="review", created_at=now, **verdict))


def _post_verdict(session: Session, job: PostJob, verdict: dict[str, Any], now: datetime):
    # A new dict, so that the JSON column sees the change; the moderator's verdict stays beside.
    job.verdict = {**(job.verdict or {}), "review": verdict | {"at": now.isoformat()}}


@dataclass(frozen=True)
class Reviewable:
    """What review needs of a kind of job: its table, name, editable fields, verdict record."""

    model: type[Job]
    label: str  # how messages name one ("job 7", "post job 7")
    fields: tuple[str, ...]
    record_verdict: Callable[[Session, Any, dict[str, Any], datetime], None]


KINDS: dict[str, Reviewable] = {
    "reply": Reviewable(ReplyJob, "job", ("reply_text",), _reply_verdict),
    "post": Reviewable(PostJob, "post job", ("title", "body"), _post_verdict),
}


def _held(session: Session, model: type, job_id: int, label: str) -> Any:
    # FOR UPDATE: two reviewers deciding at once are serialised; the second one is told.
    job = session.get(model, job_id, with_for_update=True)
    if job is None or job.status != Status.PENDING_REVIEW:
        state = "does not exist" if job is None else f"is {job.status}, not pending_review"
        raise NotHeld(f"{label} {job_id} {state}")
    return job


def _apply(job: Any, decision: ReviewDecision, fields: tuple[str, ...]):
    """Set the edited fields; returns the recorded reason and {field: (before, after)}."""
    edits = (decision.edits or {}) if decision.approve else {}
    unknown = set(edits) - set(fields)
    if unknown:
        raise ValueError(f"cannot edit {sorted(unknown)} of this job; only {list(fields)}")
    changed = {}
    for field, text in edits.items():
        if text != getattr(job, field):
            changed[field] = (getattr(job, field), text)
            setattr(job, field, text)
    if decision.approve:
        reason = "reviewer_edited" if changed else "reviewer_approved"
    else:
        reason = f"reviewer:{decision.reason}"
    return reason, changed


def _record(session, job, kind: str, decision: ReviewDecision, reason: str, changed, now):
    verb = "approved" if decision.approve else "rejected"
    edited = " with an edit" if changed else ""
    data = {
        "reviewer": decision.reviewer,
        "job_kind": kind,
        "decision": decision.status.value,
        "reason": reason,
        "edits": {f: {"before": b, "after": a} for f, (b, a) in changed.items()},
    }
    queries.move(job, decision.status, now=now, reason=reason)
    queries.record_event(
        session,
        "review",
        f"{kind} job {job.id} {verb}{edited} by {decision.reviewer}",
        now=now,
        account=job.account,
        subreddit=job.subreddit,
        job_id=job.id,
        data=data,
    )
