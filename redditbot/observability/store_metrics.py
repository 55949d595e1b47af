"""Metrics read from the store at scrape time.

The store is the queue and the audit log, so counting its rows gives numbers that are right
across several instances sharing one PostgreSQL database and that survive restarts. Every
query here only reads; label values come from small closed sets (statuses, gates, decisions,
reason prefixes, event kinds, feeds) so the number of series stays bounded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from redditbot.domain import Status
from redditbot.observability.exposition import MetricFamily, Sample, family, labelled
from redditbot.reddit.gateway import TERMINAL_API_ERRORS
from redditbot.store import queries
from redditbot.store.models import (
    CommentRow,
    Event,
    GenerationRow,
    ModerationVerdictRow,
    PollCursor,
    PostedReply,
    PostJob,
    ReplyJob,
    SubmissionRow,
)

# Upper bounds (seconds) of the generation latency histogram: CPU decoding of a small model
# takes seconds, a large batch on a slow machine minutes.
LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

# Events that record a failed exchange with Reddit (or a stage that failed on one).
ERROR_EVENT_KINDS = ("poll_failed", "post_interrupted", "stage_error")

# Reasons of jobs skipped because Reddit refused the reply for good.
REFUSAL_REASONS = (*sorted(TERMINAL_API_ERRORS.values()), "forbidden", "not_found")

NO_REASON = "none"


def store_metrics(session: Session, now: datetime) -> list[MetricFamily]:
    """Every store-backed metric family, read in one session."""
    readers: list[Callable[[Session], MetricFamily]] = [
        items_seen, jobs_by_status, post_jobs_by_status, replies_posted, moderation_decisions,
        generation_latency, reddit_errors, last_polls,
    ]  # fmt: skip
    return [read(session) for read in readers] + [oldest_queued_job_age(session, now)]


def items_seen(session: Session) -> MetricFamily:
    """Threads and comments stored (every item any instance has seen)."""
    counts = {
        "submission": session.scalar(select(func.count()).select_from(SubmissionRow)) or 0,
        "comment": session.scalar(select(func.count()).select_from(CommentRow)) or 0,
    }
    help_ = "Reddit items stored, by kind."
    return labelled("redditbot_items_seen", "gauge", help_, "kind", counts)


def jobs_by_status(session: Session) -> MetricFamily:
    """Reply jobs in each state; every state is listed, so absent ones read 0."""
    return _jobs_gauge(session, ReplyJob, "redditbot_jobs", "Reply jobs by status.")


def post_jobs_by_status(session: Session) -> MetricFamily:
    """Original posts' jobs in each state, listed the same way."""
    return _jobs_gauge(session, PostJob, "redditbot_post_jobs", "Original post jobs by status.")


def _jobs_gauge(session: Session, model, name: str, help_: str) -> MetricFamily:
    counts = {status.value: 0 for status in Status}
    counts |= queries.count_jobs_by_status(session, model=model)
    return labelled(name, "gauge", help_, "status", counts)


def _counts(session: Session, query: Select[tuple[str, int]]) -> dict[str, int]:
    return {key: count for key, count in session.execute(query)}


def replies_posted(session: Session) -> MetricFamily:
    """Replies really posted on Reddit (dry-run records are not replies)."""
    query = select(func.count()).select_from(PostedReply).where(PostedReply.dry_run.is_(False))
    count = session.scalar(query) or 0
    help_ = "Replies posted to Reddit (dry runs excluded)."
    return family("redditbot_replies_posted_total", "counter", help_, [Sample(count)])


def moderation_decisions(session: Session) -> MetricFamily:
    """Verdicts by gate, decision and the kind of their first reason (the part before ':')."""
    prefix = _reason_prefix(session, ModerationVerdictRow.reasons[0].as_string()).label("reason")
    query = select(
        ModerationVerdictRow.gate, ModerationVerdictRow.decision, prefix, func.count()
    ).group_by(ModerationVerdictRow.gate, ModerationVerdictRow.decision, prefix)
    counts: Counter[tuple[str, str, str]] = Counter()
    for gate, decision, reason, count in session.execute(query):
        counts[gate, decision, reason or NO_REASON] += count  # NULL and "" are one series
    samples = [
        Sample(count, {"gate": gate, "decision": decision, "reason": reason})
        for (gate, decision, reason), count in sorted(counts.items())
    ]
    help_ = "Moderation verdicts by gate, decision and first reason."
    return family("redditbot_moderation_decisions_total", "counter", help_, samples)


def _reason_prefix(session: Session, reason: ColumnElement[str]) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.split_part(reason, ":", 1)
    colon = func.instr(reason, ":")
    return case((colon > 0, func.substr(reason, 1, colon - 1)), else_=reason)


def generation_latency(session: Session) -> MetricFamily:
    """A histogram of ``generations.latency_ms`` in seconds, its buckets counted in SQL."""
    latency = GenerationRow.latency_ms
    buckets = [func.sum(case((latency <= bound * 1000, 1), else_=0)) for bound in LATENCY_BUCKETS_S]
    row = session.execute(select(*buckets, func.count(), func.sum(latency))).one()
    *counts, total, sum_ms = row
    samples = [
        Sample(count or 0, {"le": _bound(bound)}, "_bucket")
        for bound, count in zip(LATENCY_BUCKETS_S, counts, strict=True)
    ]
    samples += [
        Sample(total, {"le": "+Inf"}, "_bucket"),
        Sample((sum_ms or 0.0) / 1000, suffix="_sum"),
        Sample(total, suffix="_count"),
    ]
    help_ = "Time to generate one draft, in seconds."
    return family("redditbot_generation_latency_seconds", "histogram", help_, samples)


def _bound(bound: float) -> str:
    return repr(float(bound))


def reddit_errors(session: Session) -> MetricFamily:
    """Failed polls, interrupted posts and stage errors (events), and Reddit's refusals (jobs)."""
    events = select(Event.kind, func.count()).where(Event.kind.in_(ERROR_EVENT_KINDS))
    refusals = select(ReplyJob.reason, func.count()).where(
        ReplyJob.status == Status.SKIPPED.value, ReplyJob.reason.in_(REFUSAL_REASONS)
    )
    counts = dict.fromkeys((*ERROR_EVENT_KINDS, *REFUSAL_REASONS), 0)
    counts |= _counts(session, events.group_by(Event.kind))
    counts |= _counts(session, refusals.group_by(ReplyJob.reason))
    help_ = "Errors talking to Reddit, by kind (event kinds and refusal reasons)."
    return labelled("redditbot_reddit_errors_total", "counter", help_, "kind", counts)


def oldest_queued_job_age(session: Session, now: datetime) -> MetricFamily:
    """Seconds since the oldest job still in ``queued`` was created; 0 when none waits."""
    query = select(func.min(ReplyJob.created_at)).where(ReplyJob.status == Status.QUEUED.value)
    oldest = session.scalar(query)
    age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    help_ = "Age of the oldest queued reply job, in seconds (0 when the queue is empty)."
    return family("redditbot_oldest_queued_job_age_seconds", "gauge", help_, [Sample(age)])


def last_polls(session: Session) -> MetricFamily:
    """When each feed was last polled successfully, as a unix timestamp (newest account wins)."""
    latest = func.max(PollCursor.last_success_at)
    query = (
        select(PollCursor.feed, latest)
        .where(PollCursor.last_success_at.is_not(None))
        .group_by(PollCursor.feed)
    )
    times = {feed: at.timestamp() for feed, at in session.execute(query)}
    help_ = "Unix time of the last successful poll of each feed."
    return labelled("redditbot_last_poll_timestamp_seconds", "gauge", help_, "feed", times)
