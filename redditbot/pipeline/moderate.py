"""Moderate: judge each draft's candidates, keep the best one that passes, or regenerate.

Every candidate's verdict is stored. The chosen text goes to ``approved`` (or to
``pending_review`` in review mode, or when a check asks for a person). When nothing passes, the
job is generated again, up to ``max_generations`` tries in all, then ``rejected`` with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from redditbot.config import Settings
from redditbot.domain import Clock, Decision, Status, Verdict, utcnow
from redditbot.moderation import Moderator, verdict_to_dict
from redditbot.pipeline.context import thread_context
from redditbot.pipeline.drafting import Choice, choose_reply
from redditbot.pipeline.generate import generation_count
from redditbot.quality import Embedder
from redditbot.store import queries
from redditbot.store.models import (
    GenerationRow,
    Job,
    ModerationVerdictRow,
    PostedReply,
    ReplyJob,
)

log = logging.getLogger(__name__)

RECENT_REPLIES = 50


class ModerateStage:
    """The moderate stage; ``run_once()`` judges a batch of drafted jobs."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        account: str,
        owner: str,
        moderator_for: Callable[[str], Moderator],
        embedder: Embedder | None = None,
        max_generations: int = 3,
        batch: int = 32,
        lease: timedelta = timedelta(minutes=5),
        clock: Clock = utcnow,
    ) -> None:
        self.lease = lease
        self.sessions, self.settings, self.clock = sessions, settings, clock
        self.account, self.owner, self.moderator_for = account, owner, moderator_for
        self.max_generations, self.batch = max_generations, batch
        self.embedder = embedder  # None: rank passing candidates by fluency alone

    def run_once(self) -> int:
        now = self.clock()
        with self.sessions.begin() as session:
            jobs = queries.claim_jobs(
                session,
                account=self.account,
                status=Status.DRAFTED,
                owner=self.owner,
                now=now,
                lease=self.lease,
                limit=self.batch,
            )
            recent = self._recent_replies(session)
            for job in jobs:
                self._judge(session, job, recent, now)
        return len(jobs)

    def _recent_replies(self, session: Session) -> tuple[str, ...]:
        query = (
            select(PostedReply.body)
            .where(PostedReply.account == self.account)
            .order_by(PostedReply.id.desc())
            .limit(RECENT_REPLIES)
        )
        return tuple(session.scalars(query))

    def _judge(self, session: Session, job: ReplyJob, recent: tuple[str, ...], now) -> None:
        generation = session.scalars(
            select(GenerationRow)
            .where(GenerationRow.job_id == job.id)
            .order_by(GenerationRow.id.desc())
        ).first()
        context = thread_context(session, job.target_fullname, job.subreddit)
        choice = choose_reply(
            self.settings,
            context,
            generation.candidates,
            moderator=self.moderator_for(job.subreddit),
            embedder=self.embedder,
            recent=recent,
        )
        for candidate in choice.judged:
            session.add(_verdict_row(job.id, generation.id, candidate.verdict, now))
        generation.candidates = choice.reranked.stored_candidates(generation.candidates)
        generation.output = choice.best.text
        self._advance(session, job, choice, now)

    def _advance(self, session: Session, job: ReplyJob, choice: Choice, now: datetime) -> None:
        if choice.rejection is not None:
            tries = generation_count(session, job.id)
            regenerate_or_reject(
                job, choice.rejection, tries=tries, max_generations=self.max_generations, now=now
            )
            if job.status is Status.REJECTED:
                log.info("job %s rejected after %d tries: %s", job.id, tries, choice.rejection)
            return
        best = choice.best
        job.reply_text = best.text
        held = best.verdict.decision is Decision.REVIEW or review_mode(self.settings, job.subreddit)
        held = held or self._input_asked_review(session, job)
        approve_or_hold(job, held=held, reasons=best.verdict.reasons, now=now)

    def _input_asked_review(self, session: Session, job: ReplyJob) -> bool:
        query = select(ModerationVerdictRow.decision).where(
            ModerationVerdictRow.job_id == job.id, ModerationVerdictRow.gate == "input"
        )
        return Decision.REVIEW.value in set(session.scalars(query))


def regenerate_or_reject(
    job: Job, reason: str, *, tries: int, max_generations: int, now: datetime
) -> None:
    """A draft nothing passed (a reply's or a post's): generated again while it has tries left,
    then ``rejected`` with the reason."""
    if tries < max_generations:
        queries.move(job, Status.QUEUED, now=now, reason=f"regenerate:{reason}")
    else:
        queries.move(job, Status.REJECTED, now=now, reason=reason)


def approve_or_hold(job: Job, *, held: bool, reasons: Sequence[str], now: datetime) -> None:
    """A draft that passed: ``approved``, or ``pending_review`` when ``held`` (review mode, or a
    check that asks for a person); the reason names the checks' remarks."""
    reason = ",".join(reasons) or ("review_mode" if held else None)
    queries.move(job, Status.PENDING_REVIEW if held else Status.APPROVED, now=now, reason=reason)


def review_mode(settings: Settings, subreddit: str) -> bool:
    """Whether the subreddit holds every approved draft for a person."""
    sub = settings.subreddit(subreddit)
    return bool(sub and sub.review)


def _verdict_row(job_id: int, generation_id: int, verdict: Verdict, now) -> ModerationVerdictRow:
    record = verdict_to_dict(verdict)
    return ModerationVerdictRow(
        job_id=job_id,
        generation_id=generation_id,
        gate="output",
        decision=verdict.decision.value,
        checks=record["checks"],
        reasons=list(verdict.reasons),
        created_at=now,
    )
