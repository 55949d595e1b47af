"""The store's verbs: idempotent upserts, cursors, claiming jobs under leases, state changes.

No function here commits: the caller owns the transaction, so that, for example, the items a
poll stored and the cursor that points past them are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, case, func, or_, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from redditbot.domain import Comment, Status, Submission, can_move
from redditbot.store import purge
from redditbot.store.models import (
    CommentRow,
    Event,
    Job,
    PollCursor,
    PostJob,
    ReplyJob,
    SubmissionRow,
    Subreddit,
    SubredditPause,
    UTCDateTime,
)

# Fields that change after creation (edits, deletion, moderation, votes).
MUTABLE_SUBMISSION = (
    "title",
    "selftext",
    "score",
    "num_comments",
    "locked",
    "archived",
    "over_18",
    "stickied",
    "distinguished",
    "removed",
    "deleted",
)
MUTABLE_COMMENT = (
    "body",
    "score",
    "locked",
    "archived",
    "stickied",
    "distinguished",
    "removed",
    "deleted",
)


AnyJob = TypeVar("AnyJob", bound=Job)


class IllegalTransition(RuntimeError):
    """A bug: a job was asked to make a move the state machine does not have."""


# --------------------------------------------------------------------------- the one clock


def db_now(session: Session, plus: timedelta = timedelta()) -> ColumnElement[datetime]:
    """The database's clock (plus ``plus``), evaluated inside the statement that uses it.

    Leases are written and judged with this, never with a process's clock: instances whose
    clocks disagree must still agree on whether a lease has run out. SQLite's clock is text in
    the form SQLAlchemy stores (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC), so comparisons with stored
    values order correctly; PostgreSQL's is ``now()``, a timestamptz.
    """
    if session.get_bind().dialect.name == "sqlite":
        offset = f"{plus.total_seconds():+.6f} seconds"
        return type_coerce(func.strftime("%Y-%m-%d %H:%M:%f000", "now", offset), UTCDateTime())
    return type_coerce(func.now() + plus, UTCDateTime())


def database_time(session: Session) -> datetime:
    """What the database's clock says now (the clock check compares it with the process's)."""
    return session.scalar(select(db_now(session)))


def lease_free(
    model: type[Job] | type[PollCursor], session: Session, grace: timedelta = timedelta()
) -> ColumnElement:
    """Unleased, or leased until more than ``grace`` ago on the database's clock."""
    return or_(model.lease_expires_at.is_(None), model.lease_expires_at < db_now(session, -grace))


# --------------------------------------------------------------------------- items


def submission_row(item: Submission, bot_account: str | None) -> dict[str, Any]:
    row = asdict(item)
    row["fullname"] = item.fullname
    del row["id"]
    row["bot_account"] = bot_account
    return row


def comment_row(item: Comment, bot_account: str | None) -> dict[str, Any]:
    row = asdict(item)
    row["fullname"] = item.fullname
    row["link_fullname"] = row.pop("link_id")
    row["parent_fullname"] = row.pop("parent_id")
    del row["id"]
    row["bot_account"] = bot_account
    return row


def upsert_items(
    session: Session,
    items: Iterable[Submission | Comment],
    *,
    account: str,
    bot_username: str,
    now: datetime,
) -> int:
    """Insert new items, update edited/deleted ones; the bot's own are marked with ``account``."""
    items = list(items)  # read twice: for what is gone, and for the rows
    me = bot_username.lower()
    submissions, comments = [], []
    for item in items:
        own = account if (item.author or "").lower() == me else None
        if isinstance(item, Submission):
            submissions.append(
                submission_row(item, own) | {"first_seen_at": now, "updated_at": now}
            )
        else:
            comments.append(comment_row(item, own) | {"first_seen_at": now, "updated_at": now})
    gone = {item.fullname: r for item in items if (r := purge.gone_reason(item))}
    counts = purge.purge(session, gone, now)  # stored text first: it finds the copies
    _upsert(session, SubmissionRow, submissions, MUTABLE_SUBMISSION)
    _upsert(session, CommentRow, comments, MUTABLE_COMMENT)
    purge.purge(session, gone, now, counts)  # and what arrived already gone
    if counts.rows:
        purge.record(session, counts, now=now, account=account)
    _ensure_subreddits(session, {row["subreddit"] for row in submissions + comments}, now)
    return len(submissions) + len(comments)


def _insert_for(session: Session):
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _upsert(session: Session, model: type, rows: list[dict[str, Any]], mutable: Sequence[str]):
    if not rows:
        return
    rows = list({row["fullname"]: row for row in rows}.values())  # one statement, one row a key
    insert = _insert_for(session)(model)
    changes = {name: insert.excluded[name] for name in (*mutable, "updated_at")}
    # A purged row stays purged: Reddit still shows a deleted account's text, the store must not.
    upsert = insert.on_conflict_do_update(
        index_elements=["fullname"], set_=changes, where=model.purged_at.is_(None)
    )
    session.execute(upsert, rows)


def _ensure_subreddits(session: Session, names: set[str], now: datetime) -> None:
    if not names:
        return
    insert = _insert_for(session)(Subreddit).on_conflict_do_nothing(index_elements=["name"])
    session.execute(insert, [{"name": name, "first_seen_at": now} for name in sorted(names)])


def insert_ignoring_duplicates(
    session: Session, model: type, rows: list[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows, silently skipping those whose key already exists."""
    if rows:
        insert = _insert_for(session)(model).on_conflict_do_nothing(index_elements=list(keys))
        session.execute(insert, rows)


# --------------------------------------------------------------------------- cursors


def cursor(session: Session, account: str, feed: str) -> PollCursor:
    """The feed's cursor row, created empty on first use."""
    row = session.get(PollCursor, (account, feed))
    if row is None:
        row = PollCursor(account=account, feed=feed)
        session.add(row)
    return row


def try_lease(
    session: Session, *, account: str, name: str, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Hold (or renew) the named lease, e.g. a feed, so one instance at a time works on it.

    The lease runs ``ttl`` on the database's clock (``now`` only stamps a new row)."""
    insert_ignoring_duplicates(
        session,
        PollCursor,
        [{"account": account, "feed": name, "updated_at": now}],
        ("account", "feed"),
    )
    free = or_(
        PollCursor.lease_owner.is_(None),
        PollCursor.lease_owner == owner,
        PollCursor.lease_expires_at < db_now(session),
    )
    result = session.execute(
        update(PollCursor)
        .where(PollCursor.account == account, PollCursor.feed == name, free)
        .values(lease_owner=owner, lease_expires_at=db_now(session, ttl))
    )
    return result.rowcount == 1


# --------------------------------------------------------------------------- jobs


def claim_jobs(
    session: Session,
    *,
    account: str,
    status: Status,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    extra: Sequence[Any] = (),
    model: type[AnyJob] = ReplyJob,
    first: Sequence[Any] = (),
) -> list[AnyJob]:
    """Lease up to ``limit`` due jobs in ``status``; other instances skip the locked rows.

    Jobs are taken oldest first, after the order ``first`` (e.g. ``conversations_first()``).

    ``model`` is any job table with the state-machine columns (reply_jobs, post_jobs). Whether a
    lease is free, and until when the new one runs, is the database's clock; ``now`` (the
    process's) only decides whether a job's ``not_before`` has come.
    """
    due = or_(model.not_before.is_(None), model.not_before <= now)
    query = (
        select(model)
        .where(
            model.account == account,
            model.status == status,
            due,
            lease_free(model, session),
            *extra,
        )
        .order_by(*first, model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    jobs = list(session.scalars(query))
    if jobs:
        _lease(session, model, jobs, owner, db_now(session, lease))
    return jobs


CONVERSATION_TRIGGERS = ("mention", "reply_to_bot")


def conversations_first() -> Any:
    """An order for ``claim_jobs``: mentions of the bot and replies to it before ambient jobs.

    Someone who addressed the bot is waiting for its answer; an ambient reply can wait."""
    return case((ReplyJob.trigger.in_(CONVERSATION_TRIGGERS), 0), else_=1)


def _lease(session: Session, model: type[Job], jobs: list[AnyJob], owner: str, until: Any) -> None:
    """Write the lease in one statement; the rows in hand learn the database's expiry."""
    leased = session.execute(
        update(model)
        .where(model.id.in_([job.id for job in jobs]))
        .values(lease_owner=owner, lease_expires_at=until)
        .returning(model.id, model.lease_expires_at)
        .execution_options(synchronize_session=False)
    )
    expiry = dict(leased.all())
    for job in jobs:
        set_committed_value(job, "lease_owner", owner)
        set_committed_value(job, "lease_expires_at", expiry[job.id])


def end_lease(session: Session, model: type[Job], job_id: int, owner: str) -> None:
    """The holder's request is over (it failed with its outcome unknown): its lease ends now,
    on the database's clock, so the job is stale ``in_flight`` later rather than a lease later.
    A lease another instance holds by now is left alone."""
    session.execute(
        update(model)
        .where(model.id == job_id, model.lease_owner == owner)
        .values(lease_expires_at=db_now(session))
        .execution_options(synchronize_session=False)
    )


def requeue_stuck_generating(
    session: Session,
    model: type[Job],
    *,
    account: str,
    now: datetime,
    reason: str,
    everyone: bool = False,
) -> int:
    """Jobs of ``model`` left in ``generating`` go back to ``queued`` with ``reason``: those
    whose lease ran out on the database's clock, or all of them (``everyone``: at start-up on
    SQLite they belong to a dead process). Returns how many."""
    query = select(model).where(model.account == account, model.status == Status.GENERATING)
    if not everyone:
        query = query.where(model.lease_expires_at < db_now(session))
    stuck = 0
    for job in session.scalars(query):
        move(job, Status.QUEUED, now=now, reason=reason)
        stuck += 1
    return stuck


def jobs_in_posting(
    session: Session,
    *,
    account: str,
    stale_only: bool,
    in_flight: timedelta = timedelta(),
    model: type[AnyJob] = ReplyJob,
) -> list[AnyJob]:
    """Jobs left in ``posting``: stale ones, or (``stale_only=False``, at start-up) all.

    A job is stale only when no sender can still be waiting for Reddit: its lease ran out more
    than ``in_flight`` (the request timeout times the tries) ago, on the database's clock.
    """
    query = select(model).where(model.account == account, model.status == Status.POSTING)
    if stale_only:
        query = query.where(lease_free(model, session, in_flight))
    return list(session.scalars(query))


def move(
    job: Job, target: Status, *, now: datetime, reason: str | None = None, keep_lease: bool = False
) -> None:
    """Change a job's (a reply's or a post's) state along the state machine; an illegal move
    raises."""
    source = Status(job.status)  # a str assigned in this session reads as its Status
    if not can_move(source, target):
        raise IllegalTransition(f"job {job.id}: {source} → {target} is not allowed")
    job.status, job.updated_at = target, now
    if reason is not None or target in (Status.QUEUED, Status.APPROVED, Status.POSTED):
        job.reason = reason
    if not keep_lease:
        job.lease_owner = job.lease_expires_at = None


def count_jobs_by_status(
    session: Session, account: str | None = None, *, model: type[Job] = ReplyJob
) -> dict[Status, int]:
    """Jobs per status: reply jobs, or with ``model=PostJob`` the original posts' jobs."""
    query = select(model.status, func.count()).group_by(model.status)
    if account:
        query = query.where(model.account == account)
    return {key: value for key, value in session.execute(query)}


def count_forbidden(
    session: Session,
    subreddit: str,
    *,
    account: str,
    now: datetime,
    threshold: int,
    pause_for: timedelta,
) -> datetime | None:
    """Count a 403 ``account`` got in ``subreddit``; its ``threshold``-th in a row pauses that
    account there (replies and posts alike; the other accounts go on), recorded on the
    (account, subreddit) row of ``subreddit_pauses`` and in the event log. Returns the end of a
    new pause. A success of that account in between starts its count again (``clear_forbidden``).

    One upsert adds the 403, so two instances of the account counting at once both count."""
    insert = _insert_for(session)(SubredditPause).values(
        account=account, subreddit=subreddit, forbidden_count=1
    )
    count = session.scalar(
        insert.on_conflict_do_update(
            index_elements=["account", "subreddit"],
            set_={"forbidden_count": SubredditPause.forbidden_count + 1},
        ).returning(SubredditPause.forbidden_count)
    )
    if count < threshold:
        return None
    until, reason = now + pause_for, f"{count} consecutive 403 answers"
    session.execute(
        update(SubredditPause)
        .where(SubredditPause.account == account, SubredditPause.subreddit == subreddit)
        .values(paused_until=until, pause_reason=reason, forbidden_count=0)
    )
    record_event(
        session,
        "subreddit_paused",
        f"r/{subreddit} paused for u/{account} until {until:%Y-%m-%d %H:%M} UTC: {reason}",
        now=now,
        level="warning",
        account=account,
        subreddit=subreddit,
    )
    return until


def clear_forbidden(session: Session, subreddit: str, *, account: str) -> None:
    """Reddit took a reply or post of ``account`` in ``subreddit``: that account's 403s there so
    far were not "in a row" (another account's count is its own)."""
    session.execute(
        update(SubredditPause)
        .where(
            SubredditPause.account == account,
            SubredditPause.subreddit == subreddit,
            SubredditPause.forbidden_count > 0,
        )
        .values(forbidden_count=0)
    )


def paused_subreddits(account: str, now: datetime) -> Select[tuple[str]]:
    """The subreddits ``account`` may not post to at ``now`` (a subquery for claims)."""
    return select(SubredditPause.subreddit).where(
        SubredditPause.account == account, SubredditPause.paused_until > now
    )


# --------------------------------------------------------------------------- events


def record_event(
    session: Session, kind: str, message: str, *, now: datetime, level: str = "info", **fields
) -> None:
    """Append to the event log (account, subreddit, job_id, fullname, data are optional)."""
    session.add(Event(kind=kind, message=message, at=now, level=level, **fields))


def recent_warnings(session: Session, limit: int = 10) -> Sequence[Event]:
    """The newest warning and error events."""
    query = select(Event).where(Event.level.in_(("warning", "error")))
    return session.scalars(query.order_by(Event.id.desc()).limit(limit)).all()


def latest_clock_checks(session: Session, recent: int = 200) -> list[Event]:
    """The latest ``clock_check`` of each instance (and account) among the recent ones: one
    instance whose clock is off must not hide behind another's later "clocks agree"."""
    query = select(Event).where(Event.kind == "clock_check").order_by(Event.id.desc()).limit(recent)
    latest: dict[tuple, Event] = {}
    for event in session.scalars(query):
        latest.setdefault((event.account, (event.data or {}).get("instance")), event)
    return sorted(latest.values(), key=lambda e: (e.account or "", e.id))


# --------------------------------------------------------------------------- listings


def poll_cursors(session: Session) -> Sequence[PollCursor]:
    """Every feed's cursor, by feed."""
    return session.scalars(select(PollCursor).order_by(PollCursor.feed)).all()


def held_replies(session: Session) -> Sequence[ReplyJob]:
    """Reply jobs waiting for a person (``pending_review``), oldest first."""
    query = select(ReplyJob).where(ReplyJob.status == Status.PENDING_REVIEW)
    return session.scalars(query.order_by(ReplyJob.id)).all()


def newest_post_jobs(
    session: Session, *, status: Status | None = None, limit: int = 20
) -> Sequence[PostJob]:
    """The newest post jobs, optionally of one state."""
    query = select(PostJob).order_by(PostJob.id.desc()).limit(limit)
    if status:
        query = query.where(PostJob.status == status)
    return session.scalars(query).all()
