"""The store's tables (SQLAlchemy 2.0 typed models).

The store is both the work queue and the audit log: every reply job, every generation, every
moderation verdict and every posted reply is a row an operator can query with plain SQL.
Timestamps are UTC. Rows that belong to a bot account carry an ``account`` column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from redditbot.domain import Status, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A job's status: the ``Status`` enum in Python, its value ("queued", ...) in a VARCHAR(32) on
# every backend, as the migrations created it. An unknown value is refused on the way in and on
# the way out. Not a native PostgreSQL enum and no CHECK constraint: either would need a table
# rebuild on SQLite (whose foreign keys cascade) for no gain over the type's own checks.
JOB_STATUS = Enum(
    Status,
    native_enum=False,
    length=32,
    validate_strings=True,
    values_callable=lambda statuses: [status.value for status in statuses],
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        Status: JOB_STATUS,
    }


class Job(Base):
    """The columns and the state machine (``redditbot.domain.TRANSITIONS``) every job shares:
    a reply (``reply_jobs``) or an original post (``post_jobs``), anything the bot writes to
    Reddit. Each kind adds what identifies its target and what it records once sent.

    Leases: ``lease_owner`` holds the job until ``lease_expires_at`` on the database's clock.
    """

    __abstract__ = True

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    subreddit: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[Status] = mapped_column(default=Status.QUEUED)
    reason: Mapped[str | None] = mapped_column(Text)  # machine-readable, for skipped/failed/…
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Subreddit(Base):
    """A subreddit the bot has seen (its pauses are per account: ``SubredditPause``)."""

    __tablename__ = "subreddits"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubredditPause(Base):
    """One account's 403s in one subreddit; ``paused_until`` stops that account posting there.

    Per (account, subreddit), not per subreddit: a 403 is most often one account banned there,
    and the other accounts may still post. ``forbidden_count`` counts the 403s in a row since
    that account's last success there (a new pause starts it again).
    """

    __tablename__ = "subreddit_pauses"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    subreddit: Mapped[str] = mapped_column(String(64), primary_key=True)
    forbidden_count: Mapped[int] = mapped_column(Integer, default=0)
    paused_until: Mapped[datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(Text)


class SubmissionRow(Base):
    """A thread (t3)."""

    __tablename__ = "submissions"

    fullname: Mapped[str] = mapped_column(String(32), primary_key=True)
    subreddit: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str | None] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(Text)
    selftext: Mapped[str] = mapped_column(Text, default="")
    permalink: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    created_utc: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer, default=0)
    num_comments: Mapped[int] = mapped_column(Integer, default=0)
    is_self: Mapped[bool] = mapped_column(Boolean, default=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    over_18: Mapped[bool] = mapped_column(Boolean, default=False)
    stickied: Mapped[bool] = mapped_column(Boolean, default=False)
    distinguished: Mapped[str | None] = mapped_column(String(32))
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_account: Mapped[str | None] = mapped_column(String(64))  # set when the bot wrote it
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    checked_at: Mapped[datetime | None]  # last asked of Reddit whether it still exists
    purged_at: Mapped[datetime | None]  # its text was purged: deleted, removed or author gone


class CommentRow(Base):
    """A comment (t1)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_link_created", "link_fullname", "created_utc"),)

    fullname: Mapped[str] = mapped_column(String(32), primary_key=True)
    subreddit: Mapped[str] = mapped_column(String(64), index=True)
    link_fullname: Mapped[str] = mapped_column(String(32))
    parent_fullname: Mapped[str] = mapped_column(String(32), index=True)
    author: Mapped[str | None] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    permalink: Mapped[str] = mapped_column(Text, default="")
    created_utc: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer, default=0)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    stickied: Mapped[bool] = mapped_column(Boolean, default=False)
    distinguished: Mapped[str | None] = mapped_column(String(32))
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_account: Mapped[str | None] = mapped_column(String(64))  # set when the bot wrote it
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    checked_at: Mapped[datetime | None]  # last asked of Reddit whether it still exists
    purged_at: Mapped[datetime | None]  # its text was purged: deleted, removed or author gone


class InboxRow(Base):
    """A mention of the account or a reply to it (the comment itself is in ``comments``)."""

    __tablename__ = "inbox_items"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    fullname: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # username_mention | comment_reply | post_reply
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class PollCursor(Base):
    """Where a feed's polling stopped; saved in the same transaction as the items it stored."""

    __tablename__ = "poll_cursors"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    feed: Mapped[str] = mapped_column(String(255), primary_key=True)  # e.g. "comments:a+b+c"
    last_fullname: Mapped[str | None] = mapped_column(String(32))
    last_created_utc: Mapped[float | None] = mapped_column(Float)
    last_success_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReplyJob(Job):
    """One reply the bot may write: the state machine of docs/architecture.md (queued → … → posted).

    ``UNIQUE(account, target_fullname)``: a target gets at most one reply per account, ever.
    """

    __tablename__ = "reply_jobs"
    __table_args__ = (
        UniqueConstraint("account", "target_fullname", name="uq_reply_jobs_account_target"),
        Index("ix_reply_jobs_status_not_before", "status", "not_before"),
    )

    target_fullname: Mapped[str] = mapped_column(String(32))
    link_fullname: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(64), default="")  # why it was selected
    reply_text: Mapped[str | None] = mapped_column(Text)  # the approved (possibly edited) text


class GenerationRow(Base):
    """Everything that produced a draft: model, prompt, parameters, output, tokens, latency."""

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("reply_jobs.id", ondelete="CASCADE"), index=True)
    backend: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[str] = mapped_column(Text)  # the chosen candidate
    candidates: Mapped[list[Any]] = mapped_column(default=list)  # every candidate with its scores
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationVerdictRow(Base):
    """A moderation decision with each check's result, on a target (input) or a draft (output)."""

    __tablename__ = "moderation_verdicts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("reply_jobs.id", ondelete="CASCADE"), index=True)
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("generations.id", ondelete="SET NULL")
    )
    gate: Mapped[str] = mapped_column(String(16))  # input | output | review
    decision: Mapped[str] = mapped_column(String(16))  # approve | review | reject
    checks: Mapped[list[Any]] = mapped_column(default=list)  # [{name, passed, score, reason}]
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostedReply(Base):
    """A reply the bot posted (or, in dry run, would have posted)."""

    __tablename__ = "posted_replies"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("reply_jobs.id"), unique=True)
    account: Mapped[str] = mapped_column(String(64))
    target_fullname: Mapped[str] = mapped_column(String(32))
    comment_fullname: Mapped[str | None] = mapped_column(String(32), unique=True)
    permalink: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    reconciled: Mapped[bool] = mapped_column(Boolean, default=False)  # found, not sent, on restart
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    delete_reason: Mapped[str | None] = mapped_column(Text)


class OptOut(Base):
    """A user's ``!optout`` (or later ``!optin``), honoured by every account."""

    __tablename__ = "opt_outs"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean)
    source_fullname: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Event(Base):
    """The event log: what happened, to what, and why, for operators."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    level: Mapped[str] = mapped_column(String(16), default="info")
    kind: Mapped[str] = mapped_column(String(64), index=True)
    account: Mapped[str | None] = mapped_column(String(64))
    subreddit: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    fullname: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SelectionDecision(Base):
    """The select stage's decision on every stored item, so "why not?" is one query."""

    __tablename__ = "selection_decisions"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    fullname: Mapped[str] = mapped_column(String(32), primary_key=True)
    subreddit: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))  # queued | ignored
    trigger: Mapped[str | None] = mapped_column(String(64))
    # ignored: why; queued: why its job was skipped at once (a cap, the input gate), else None
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostJob(Job):
    """One original post (a thread the bot starts), with the same states as a reply job.

    ``UNIQUE(account, subreddit, slot)``: one schedule slot gets at most one post, ever. What
    produced the post (prompt, model, raw output, moderation verdict) is kept on the row.
    """

    __tablename__ = "post_jobs"
    __table_args__ = (
        UniqueConstraint("account", "subreddit", "slot", name="uq_post_jobs_account_slot"),
        Index("ix_post_jobs_status_not_before", "status", "not_before"),
    )

    slot: Mapped[str] = mapped_column(String(32))  # the schedule slot, "YYYY-MM-DDTHH:MM" UTC
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    flair_id: Mapped[str | None] = mapped_column(String(64))
    flair_text: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str | None] = mapped_column(Text)
    output: Mapped[str | None] = mapped_column(Text)  # the raw generated text that was parsed
    generations: Mapped[int] = mapped_column(Integer, default=0)
    verdict: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {decision, reasons, checks}
    submission_fullname: Mapped[str | None] = mapped_column(String(32), unique=True)
    permalink: Mapped[str | None] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    reconciled: Mapped[bool] = mapped_column(Boolean, default=False)
    posted_at: Mapped[datetime | None]
