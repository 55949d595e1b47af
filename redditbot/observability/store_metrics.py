"""Metrics read from the store at scrape time (a prometheus_client custom collector).

The store is the queue and the audit log, so counting its rows gives numbers that are right
across several instances sharing one PostgreSQL database and that survive restarts. Every
query here only reads; label values come from small closed sets (statuses, gates, decisions,
reason prefixes, event kinds, feeds) so the number of series stays bounded. Being store-wide,
they are served by the instances with ``[observability] store_metrics = true`` only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from redditbot.domain import TERMINAL_API_ERRORS, Clock, Status
from redditbot.observability.exposition import labelled
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
    SubredditPause,
)

# Upper bounds (seconds) of the generation latency histogram: CPU decoding of a small model
# takes seconds, a large batch on a slow machine minutes.
LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

# Events that record a failed exchange with Reddit (or a stage that failed on one).
ERROR_EVENT_KINDS = ("poll_failed", "post_interrupted", "stage_error")

# Reasons of jobs skipped because Reddit refused the reply for good.
REFUSAL_REASONS = (*sorted(TERMINAL_API_ERRORS.values()), "forbidden", "not_found")

NO_REASON = "none"


class StoreCollector(Collector):
    """The store's figures, read in one session per scrape; a database error propagates."""

    def __init__(self, sessions, clock: Clock) -> None:
        self.sessions, self.clock = sessions, clock

    def collect(self) -> Iterator[Metric]:
        with self.sessions() as session:
            families = store_metrics(session, self.clock())
        yield from families


def store_metrics(session: Session, now: datetime) -> list[Metric]:
    """Every store-backed metric family, read in one session."""
    readers: list[Callable[[Session], Metric]] = [
        items_stored,
        jobs_by_status,
        post_jobs_by_status,
        replies_posted,
        moderation_decisions,
        generation_latency,
        reddit_errors,
        last_polls,
    ]
    timed = [oldest_queued_job_age, rate_limited_jobs, paused_subreddits]
    return [read(session) for read in readers] + [read(session, now) for read in timed]


def items_stored(session: Session) -> Metric:
    """Threads and comments stored (every item any instance has seen; housekeeping may prune)."""
    counts = {
        "submission": session.scalar(select(func.count()).select_from(SubmissionRow)) or 0,
        "comment": session.scalar(select(func.count()).select_from(CommentRow)) or 0,
    }
    help_ = "Reddit items in the store, by kind."
    return labelled(GaugeMetricFamily, "redditbot_items_stored", help_, "kind", counts)


def jobs_by_status(session: Session) -> Metric:
    """Reply jobs in each state; every state is listed, so absent ones read 0."""
    return _jobs_gauge(session, ReplyJob, "redditbot_jobs", "Reply jobs by status.")


def post_jobs_by_status(session: Session) -> Metric:
    """Original posts' jobs in each state, listed the same way."""
    return _jobs_gauge(session, PostJob, "redditbot_post_jobs", "Original post jobs by status.")


def _jobs_gauge(session: Session, model, name: str, help_: str) -> Metric:
    counts = {status.value: 0 for status in Status}
    counts |= queries.count_jobs_by_status(session, model=model)
    return labelled(GaugeMetricFamily, name, help_, "status", counts)


def _counts(session: Session, query: Select[tuple[str, int]]) -> dict[str, int]:
    return {key: count for key, count in session.execute(query)}


def replies_posted(session: Session) -> Metric:
    """Replies really posted on Reddit (dry-run records are not replies)."""
    query = select(func.count()).select_from(PostedReply).where(PostedReply.dry_run.is_(False))
    count = session.scalar(query) or 0
    help_ = "Replies posted to Reddit (dry runs excluded)."
    return CounterMetricFamily("redditbot_replies_posted", help_, value=count)


def moderation_decisions(session: Session) -> Metric:
    """Verdicts by gate, decision and the kind of their first reason (the part before ':')."""
    prefix = _reason_prefix(session, ModerationVerdictRow.reasons[0].as_string()).label("reason")
    query = select(
        ModerationVerdictRow.gate, ModerationVerdictRow.decision, prefix, func.count()
    ).group_by(ModerationVerdictRow.gate, ModerationVerdictRow.decision, prefix)
    counts: Counter[tuple[str, str, str]] = Counter()
    for gate, decision, reason, count in session.execute(query):
        counts[gate, decision, reason or NO_REASON] += count  # NULL and "" are one series
    help_ = "Moderation verdicts by gate, decision and first reason."
    metric = CounterMetricFamily(
        "redditbot_moderation_decisions", help_, labels=["gate", "decision", "reason"]
    )
    for labels, count in sorted(counts.items()):
        metric.add_metric(list(labels), count)
    return metric


def _reason_prefix(session: Session, reason: ColumnElement[str]) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.split_part(reason, ":", 1)
    colon = func.instr(reason, ":")
    return case((colon > 0, func.substr(reason, 1, colon - 1)), else_=reason)


def generation_latency(session: Session) -> Metric:
    """A histogram of ``generations.latency_ms`` in seconds, its buckets counted in SQL."""
    latency = GenerationRow.latency_ms
    buckets = [func.sum(case((latency <= bound * 1000, 1), else_=0)) for bound in LATENCY_BUCKETS_S]
    row = session.execute(select(*buckets, func.count(), func.sum(latency))).one()
    *counts, total, sum_ms = row
    buckets = [
        (_bound(bound), count or 0) for bound, count in zip(LATENCY_BUCKETS_S, counts, strict=True)
    ]
    help_ = "Time to generate one draft, in seconds."
    return HistogramMetricFamily(
        "redditbot_generation_latency_seconds",
        help_,
        buckets=[*buckets, ("+Inf", total)],
        sum_value=(sum_ms or 0.0) / 1000,
    )


def _bound(bound: float) -> str:
    return repr(float(bound))


def reddit_errors(session: Session) -> Metric:
    """Failed polls, interrupted posts and stage errors (events), and Reddit's refusals (jobs)."""
    events = select(Event.kind, func.count()).where(Event.kind.in_(ERROR_EVENT_KINDS))
    refusals = select(ReplyJob.reason, func.count()).where(
        ReplyJob.status == Status.SKIPPED, ReplyJob.reason.in_(REFUSAL_REASONS)
    )
    counts = dict.fromkeys((*ERROR_EVENT_KINDS, *REFUSAL_REASONS), 0)
    counts |= _counts(session, events.group_by(Event.kind))
    counts |= _counts(session, refusals.group_by(ReplyJob.reason))
    help_ = "Errors talking to Reddit, by kind (event kinds and refusal reasons)."
    return labelled(CounterMetricFamily, "redditbot_reddit_errors", help_, "kind", counts)


def oldest_queued_job_age(session: Session, now: datetime) -> Metric:
    """Seconds since the oldest job still in ``queued`` was created; 0 when none waits."""
    query = select(func.min(ReplyJob.created_at)).where(ReplyJob.status == Status.QUEUED)
    oldest = session.scalar(query)
    age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    help_ = "Age of the oldest queued reply job, in seconds (0 when the queue is empty)."
    return GaugeMetricFamily("redditbot_oldest_queued_job_age_seconds", help_, value=age)


def rate_limited_jobs(session: Session, now: datetime) -> Metric:
    """Reply and post jobs waiting out a RATELIMIT (``not_before`` still ahead), by kind."""
    counts = {}
    for kind, model in (("reply", ReplyJob), ("post", PostJob)):
        waiting = (model.reason == "ratelimit") & (model.not_before > now)
        counts[kind] = session.scalar(select(func.count()).select_from(model).where(waiting)) or 0
    help_ = "Jobs waiting for Reddit's rate limit to pass, by kind of job."
    return labelled(GaugeMetricFamily, "redditbot_rate_limited_jobs", help_, "job", counts)


def paused_subreddits(session: Session, now: datetime) -> Metric:
    """(account, subreddit) pairs the bot stopped posting to for now: repeated 403s pause one
    account in one subreddit, the other accounts go on there. The name stays, so that the
    dashboards and alerts reading it go on working; with one account it is the same count."""
    paused = SubredditPause.paused_until > now
    query = select(func.count()).select_from(SubredditPause).where(paused)
    help_ = "(account, subreddit) pairs paused (after repeated 403s) at scrape time."
    return GaugeMetricFamily("redditbot_paused_subreddits", help_, value=session.scalar(query) or 0)


def last_polls(session: Session) -> Metric:
    """When each feed was last polled successfully, as a unix timestamp (newest account wins)."""
    latest = func.max(PollCursor.last_success_at)
    query = (
        select(PollCursor.feed, latest)
        .where(PollCursor.last_success_at.is_not(None))
        .group_by(PollCursor.feed)
    )
    times = {feed: at.timestamp() for feed, at in session.execute(query)}
    help_ = "Unix time of the last successful poll of each feed."
    return labelled(
        GaugeMetricFamily, "redditbot_last_poll_timestamp_seconds", help_, "feed", times
    )
