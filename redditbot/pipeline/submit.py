"""Submit: the bot starts threads of its own, on a schedule, through the same guarded path.

```
slot due ──schedule──▶ queued ──write──▶ drafted ──moderate──▶ approved ──send──▶ posted
                                           │          └─(review)→ pending_review
                                           └→ queued again (regenerate) | rejected
```

- One ``post_jobs`` row per (account, subreddit, slot) under a UNIQUE key: a slot gets at most one
  post, whatever restarts and crashes happen.
- ``posting`` is committed before ``/api/submit``; a job found in ``posting`` is reconciled with
  the account's own submitted listing before anything is sent again.
- RATELIMIT is a delay; SUBREDDIT_NOTALLOWED, NO_SELFS, SUBMIT_VALIDATION_*, a title over 300
  characters and a 403 are terminal ``skipped`` reasons; repeated 403s pause the subreddit.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from redditbot.disclosure import REDDIT_SELFPOST_LIMIT, disclosed, footer_cost
from redditbot.domain import (
    Clock,
    Decision,
    Draft,
    Generation,
    GenerationRequest,
    Generator,
    Status,
    ThreadContext,
    utcnow,
)
from redditbot.errors import (
    ConfigError,
    RateLimited,
    RedditbotError,
    TargetUnavailable,
    TransientError,
)
from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.verdicts import verdict_to_dict
from redditbot.pipeline.post import count_forbidden
from redditbot.posting_settings import OriginalPostSettings
from redditbot.store import queries
from redditbot.store.models import PostJob, SubmissionRow, Subreddit

log = logging.getLogger(__name__)

PostingFor = Callable[[str], OriginalPostSettings]
INSTRUCTION = (
    "Write a new text post for r/{sub} in the community's own style. "
    "Answer with one line 'Title: ...' and then 'Body: ...'."
)
MIN_POST_TOKENS = 256  # a title and a body need more room than a reply


class SubmissionGateway(Protocol):
    """What this stage needs from Reddit (``redditbot.reddit.gateway.PrawGateway`` has it)."""

    def submit(
        self,
        subreddit: str,
        title: str,
        body: str,
        flair_id: str | None = None,
        flair_text: str | None = None,
    ) -> Any: ...

    def own_recent_submissions(self, limit: int = 100) -> list[Any]: ...

    def delete_submission(self, fullname: str) -> None: ...


@dataclass(frozen=True)
class SubmitLimits:
    """Batches, leases and retry budgets of the submit stage."""

    batch: int = 4
    lease: timedelta = timedelta(minutes=10)
    in_flight: timedelta = timedelta(seconds=16 * 3)  # see PosterLimits.in_flight
    max_generations: int = 3
    max_attempts: int = 5
    forbidden_to_pause: int = 3
    pause_for: timedelta = timedelta(hours=24)


def posting_for(settings: Any, subreddit: str) -> OriginalPostSettings:
    """A subreddit's ``posting`` table (a model or a plain dict), or the disabled default."""
    sub = settings.subreddit(subreddit)
    value = getattr(sub, "posting", None) if sub else None
    if isinstance(value, OriginalPostSettings):
        return value
    return OriginalPostSettings.model_validate(value or {})


# --------------------------------------------------------------------------- schedule


def latest_slot(posting: OriginalPostSettings, now: datetime) -> datetime | None:
    """The most recent schedule slot at or before ``now`` (UTC), or None when not scheduled."""
    if not posting.enabled:
        return None
    day = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
    if posting.every_hours:
        period = timedelta(hours=posting.every_hours)
        return day + period * ((now - day) // period)
    slots = [day + _clock_time(t) for t in posting.times]
    past = [s for s in slots if s <= now]
    return max(past) if past else slots[-1] - timedelta(days=1)


def _clock_time(hh_mm: str) -> timedelta:
    hours, minutes = hh_mm.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes))


def slot_key(slot: datetime) -> str:
    """The slot as stored in ``post_jobs.slot`` ("YYYY-MM-DDTHH:MM", UTC)."""
    return slot.strftime("%Y-%m-%dT%H:%M")


def jitter(account: str, subreddit: str, slot: str, minutes: int) -> timedelta:
    """A delay in [0, minutes) that is random-looking but the same for a slot on every restart."""
    if minutes <= 0:
        return timedelta()
    digest = hashlib.sha256(f"{account}/{subreddit}/{slot}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8]) % (minutes * 60))


# --------------------------------------------------------------------------- text


_LABEL_END = r"[ \t*_]*[:\-][ \t*_]*"  # "Title:", "**Title:**", "## Title -"
_TITLE_LINE = re.compile(rf"^[ \t*#_]*title{_LABEL_END}(.*)$", re.IGNORECASE | re.MULTILINE)
_BODY_LINE = re.compile(rf"^[ \t*#_]*(?:body|text){_LABEL_END}\s*", re.IGNORECASE | re.MULTILINE)
_LINK = re.compile(r"https?://|www\.|\]\(", re.IGNORECASE)
_PING = re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,20}")


def parse_post(text: str) -> tuple[str, str] | None:
    """(title, body) from generated text: "Title: …" then "Body: …", or first line + rest."""
    found = _TITLE_LINE.search(text)
    if found:
        title, rest = found[1], text[found.end() :]
    else:
        title, _, rest = text.strip().partition("\n")
    body_start = _BODY_LINE.search(rest)
    body = rest[body_start.end() :] if body_start else rest
    next_post = _TITLE_LINE.search(body)  # the model went on to write a second post
    body = body[: next_post.start()] if next_post else body
    title = " ".join(title.split()).strip("\"'*_ ")
    return (title, body.strip()) if title else None


def title_problems(
    title: str, body: str, posting: OriginalPostSettings, footer: str = ""
) -> list[str]:
    """Machine-readable reasons the title or body (with its footer) cannot be posted as they are."""
    problems = []
    posted = len(body) + footer_cost(footer)
    if posted > REDDIT_SELFPOST_LIMIT:
        problems.append(f"body:reddit_limit:{posted}>{REDDIT_SELFPOST_LIMIT}")
    if len(title) > posting.title_max_chars:
        problems.append(f"title:length:{len(title)}>{posting.title_max_chars}")
    if _LINK.search(title):
        problems.append("title:link")
    if _PING.search(title):
        problems.append("title:ping")
    if title.isupper() and len(title) > 12:
        problems.append("title:shouting")
    if len(body) < posting.min_body_chars:
        problems.append(f"body:length:{len(body)}<{posting.min_body_chars}")
    return problems


# --------------------------------------------------------------------------- store helpers


# --------------------------------------------------------------------------- stages


def _claim(stage: Any, session: Session, status: Status, now: datetime, extra=()) -> list:
    """Lease a batch of ``stage``'s account's post jobs in ``status`` (any submit sub-stage)."""
    return queries.claim_jobs(
        session, model=PostJob, account=stage.account, status=status, owner=stage.owner,
        now=now, lease=stage.limits.lease, limit=stage.limits.batch, extra=extra,
    )  # fmt: skip


class PostScheduler:
    """Creates the job of each due slot; the unique key makes a slot's job exist once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        account: str,
        subreddits: Sequence[str],
        posting: PostingFor,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions, self.account, self.subreddits = sessions, account, tuple(subreddits)
        self.posting, self.clock = posting, clock

    def run_once(self) -> int:
        return sum(self._schedule(sub) for sub in self.subreddits)

    def _schedule(self, subreddit: str) -> int:
        posting, now = self.posting(subreddit), self.clock()
        slot = latest_slot(posting, now)
        if slot is None:
            return 0
        key = slot_key(slot)
        with self.sessions.begin() as session:
            if self._exists(session, subreddit, key) or self._day_full(
                session, subreddit, key, posting
            ):
                return 0
            row = self._row(subreddit, key, slot, posting, now)
            queries.insert_ignoring_duplicates(
                session, PostJob, [row], ("account", "subreddit", "slot")
            )
        log.info("r/%s: original post scheduled for slot %s", subreddit, key)
        return 1

    def _exists(self, session: Session, subreddit: str, key: str) -> bool:
        query = select(PostJob.id).where(
            PostJob.account == self.account, PostJob.subreddit == subreddit, PostJob.slot == key
        )
        return session.scalar(query) is not None

    def _day_full(self, session: Session, subreddit: str, key: str, posting) -> bool:
        same_day = PostJob.slot.like(f"{key[:10]}%")
        query = select(func.count()).where(
            PostJob.account == self.account, PostJob.subreddit == subreddit, same_day
        )
        return (session.scalar(query) or 0) >= posting.max_per_day

    def _row(self, subreddit: str, key: str, slot: datetime, posting, now) -> dict[str, Any]:
        delay = jitter(self.account, subreddit, key, posting.jitter_minutes)
        return {
            "account": self.account,
            "subreddit": subreddit,
            "slot": key,
            "status": Status.QUEUED,
            "not_before": slot + delay,
            "flair_id": posting.flair_id,
            "flair_text": posting.flair_text,
            "verdict": {},
            "created_at": now,
            "updated_at": now,
            "generations": 0,
            "attempts": 0,
            "dry_run": False,
            "reconciled": False,
        }


class PostWriter:
    """Generates a title and body for queued post jobs (few-shot from stored threads)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Any,
        generator: Generator,
        *,
        account: str,
        owner: str,
        posting: PostingFor,
        limits: SubmitLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions, self.settings, self.generator = sessions, settings, generator
        self.account, self.owner, self.posting = account, owner, posting
        self.limits, self.clock = limits or SubmitLimits(), clock

    def run_once(self) -> int:
        now = self.clock()
        with self.sessions.begin() as session:
            self._requeue_abandoned(session, now)
            jobs = _claim(self, session, Status.QUEUED, now)
            requests = [self.request(session, job) for job in jobs]
            for job in jobs:
                queries.move(job, Status.GENERATING, now=now, keep_lease=True)
        if not jobs:
            return 0
        try:
            generations = self.generator.generate(requests)
        except ConfigError:
            self._settle(jobs, {}, failed_reason=None)
            raise
        except Exception as exc:  # a model crash must not lose the jobs: recorded, retried
            log.exception("generation failed for post jobs %s", [j.id for j in jobs])
            self._settle(jobs, {}, failed_reason=f"generation_error:{type(exc).__name__}")
            return 0
        self._settle(jobs, {g.key: g for g in generations}, failed_reason="generation_empty")
        return len(jobs)

    def _requeue_abandoned(self, session: Session, now: datetime) -> None:
        """Jobs left in ``generating`` by a crash go back to the queue once their lease ends."""
        session.execute(
            update(PostJob)
            .where(PostJob.account == self.account, PostJob.status == Status.GENERATING,
                   PostJob.lease_expires_at < queries.db_now(session))
            .values(status=Status.QUEUED, lease_owner=None, lease_expires_at=None,
                    reason="generation_abandoned", updated_at=now)
        )  # fmt: skip

    def request(self, session: Session, job: PostJob) -> GenerationRequest:
        """The generation request for one post job (public: the CLI can show a prompt)."""
        model = self.settings.model_for(job.subreddit)
        params = model.default_sampling()
        params = replace(
            params,
            max_new_tokens=max(params.max_new_tokens, MIN_POST_TOKENS),
            seed=params.seed if params.seed is not None else job.id * 1000 + job.generations,
        )
        shots = self.posting(job.subreddit).few_shot
        return GenerationRequest(
            key=str(job.id),
            context=instruction_context(job.subreddit),
            persona=self.settings.persona_for(job.subreddit),
            params=params,
            model=model.name if model.name != self.settings.model.name else None,
            few_shot=few_shot_examples(session, job.subreddit, shots),
        )

    def _settle(
        self, jobs: list[PostJob], by_key: dict[str, Generation], failed_reason: str | None
    ) -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            for job in jobs:
                row = session.get(PostJob, job.id)
                generation = by_key.get(str(job.id))
                if generation is not None and generation.candidates:
                    self._store(row, generation, now)
                elif failed_reason is None:
                    queries.move(row, Status.QUEUED, now=now)  # not the job's fault
                else:
                    self._retry_or_fail(row, failed_reason, now)

    def _store(self, row: PostJob, generation: Generation, now: datetime) -> None:
        texts = [c.text for c in generation.candidates]
        parsed = next((p for p in map(parse_post, texts) if p), None)
        row.generations += 1
        row.model, row.prompt = generation.model_id, generation.prompt
        row.output = next((t for t in texts if parse_post(t)), texts[0])
        if parsed is None:
            return self._retry_or_fail(row, "unparsable_output", now, counted=True)
        row.title, row.body = parsed
        queries.move(row, Status.DRAFTED, now=now)
        return None

    def _retry_or_fail(self, row: PostJob, reason: str, now, counted: bool = False) -> None:
        if not counted:
            row.generations += 1
        status = Status.FAILED if row.generations >= self.limits.max_generations else Status.QUEUED
        queries.move(row, status, now=now, reason=reason)


class PostModerator:
    """Judges drafted posts: title rules, then the subreddit's moderator on title and body."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Any,
        *,
        account: str,
        owner: str,
        posting: PostingFor,
        moderator_for: Callable[[str], Any],
        limits: SubmitLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions, self.settings, self.account, self.owner = sessions, settings, account, owner
        self.posting, self.moderator_for = posting, moderator_for
        self.limits, self.clock = limits or SubmitLimits(), clock

    def run_once(self) -> int:
        now = self.clock()
        with self.sessions.begin() as session:
            jobs = _claim(self, session, Status.DRAFTED, now)
            recent = self._recent_posts(session)
            for job in jobs:
                self._judge(job, recent, now)
        return len(jobs)

    def _recent_posts(self, session: Session) -> tuple[str, ...]:
        query = (
            select(PostJob.body)
            .where(PostJob.account == self.account, PostJob.status == Status.POSTED)
            .order_by(PostJob.id.desc())
            .limit(20)
        )
        return tuple(b for b in session.scalars(query) if b)

    def _judge(self, job: PostJob, recent: tuple[str, ...], now: datetime) -> None:
        title, body = job.title or "", job.body or ""
        persona = self.settings.persona_for(job.subreddit)
        draft = Draft(
            f"{title}\n\n{body}", job.subreddit, ThreadContext(job.subreddit, ""), persona
        )
        state = ReplyState(recent_replies=recent, persona=persona, system_prompt=persona)
        verdict = verdict_to_dict(self.moderator_for(job.subreddit).check_reply(draft, state))
        footer = self.settings.footer_for(job.subreddit)
        problems = title_problems(title, body, self.posting(job.subreddit), footer)
        if problems:
            verdict = verdict | {
                "decision": Decision.REJECT.value,
                "reasons": problems + verdict["reasons"],
            }
        job.verdict = verdict
        self._advance(job, Decision(verdict["decision"]), verdict["reasons"], now)

    def _advance(self, job: PostJob, decision: Decision, reasons: list[str], now) -> None:
        if decision is Decision.REJECT:
            reason = "output:" + (reasons[0] if reasons else "rejected")
            if job.generations < self.limits.max_generations:
                return queries.move(job, Status.QUEUED, now=now, reason=f"regenerate:{reason}")
            return queries.move(job, Status.REJECTED, now=now, reason=reason)
        sub = self.settings.subreddit(job.subreddit)
        held = decision is Decision.REVIEW or bool(sub and sub.review)
        reason = ",".join(reasons) or ("review_mode" if held else None)
        queries.move(
            job, Status.PENDING_REVIEW if held else Status.APPROVED, now=now, reason=reason
        )
        return None


class PostSender:
    """Sends approved posts, exactly once per slot; reconciles jobs left in ``posting``."""

    def __init__(
        self,
        gateway: SubmissionGateway,
        sessions: sessionmaker[Session],
        *,
        account: str,
        owner: str,
        dry_run: Callable[[str], bool],
        footer: Callable[[str], str] = lambda subreddit: "",
        limits: SubmitLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.gateway, self.sessions, self.account, self.owner = gateway, sessions, account, owner
        self.dry_run, self.limits, self.clock = dry_run, limits or SubmitLimits(), clock
        self.footer = footer

    def run_once(self) -> int:
        handled = self.reconcile(stale_only=True)
        now = self.clock()
        paused = select(Subreddit.name).where(Subreddit.paused_until > now)
        not_paused = PostJob.subreddit.not_in(paused)
        with self.sessions.begin() as session:
            jobs = _claim(self, session, Status.APPROVED, now, extra=[not_paused])
        for job in jobs:
            try:
                self.send(job)
            except TransientError as exc:  # outcome unknown: reconciled after the in-flight window
                log.warning("post job %s: submit interrupted (%s); will reconcile", job.id, exc)
                with self.sessions.begin() as session:
                    queries.end_lease(session, PostJob, job.id, self.owner)
                self._event("submit_interrupted", str(exc), job)
        return handled + len(jobs)

    def send(self, job: PostJob) -> None:
        """Post one claimed job: ``posting`` is committed before the request.

        The body is stored with its disclosure footer, as Reddit gets it.
        """
        body = disclosed(job.body or "", self.footer(job.subreddit))
        if self.dry_run(job.subreddit):
            return self._finish(job, Status.SKIPPED, "dry_run", dry_run=True, body=body)
        if not self._mark_posting(job, body):
            return None  # another instance took the job over
        try:
            created = self.gateway.submit(
                job.subreddit,
                job.title or "",
                body,
                flair_id=job.flair_id,
                flair_text=job.flair_text,
            )
        except RateLimited as exc:
            return self._delay(job, exc)
        except TargetUnavailable as exc:
            self._finish(job, Status.SKIPPED, exc.reason)
            if exc.reason == "forbidden":
                count_forbidden(self.sessions, job.subreddit, account=self.account,
                                now=self.clock(), limits=self.limits)  # fmt: skip
            return None
        return self._record(job, created, reconciled=False)

    def _mark_posting(self, job: PostJob, body: str) -> bool:
        now = self.clock()
        with self.sessions.begin() as session:
            result = session.execute(
                update(PostJob)
                .where(
                    PostJob.id == job.id,
                    PostJob.status == Status.APPROVED,
                    PostJob.lease_owner == self.owner,
                )
                .values(
                    status=Status.POSTING,
                    body=body,
                    updated_at=now,
                    attempts=PostJob.attempts + 1,
                    lease_expires_at=queries.db_now(session, self.limits.lease),
                )
            )
            return result.rowcount == 1

    def _record(self, job: PostJob, created: Any, *, reconciled: bool) -> None:
        """Record a post Reddit created; one for a job another instance finished meanwhile is
        a duplicate: deleted, and the event log says so (see ``Poster._record``)."""
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(PostJob, job.id, with_for_update=True)
            finished = Status(row.status).terminal
            if not finished:
                row.submission_fullname, row.permalink = created.fullname, created.permalink or None
                row.reconciled, row.posted_at = reconciled, now
                if row.status == Status.APPROVED:  # sent back by another's reconciliation
                    queries.move(row, Status.POSTING, now=now)
                queries.move(row, Status.POSTED, now=now)
                queries.clear_forbidden(session, job.subreddit)
        if row.submission_fullname != created.fullname:
            return self._delete_duplicate(job, created.fullname, f"already {row.status}")
        log.info("post job %s: posted %s in r/%s", job.id, created.fullname, job.subreddit)
        return None

    def _delete_duplicate(self, job: PostJob, fullname: str, why: str) -> None:
        data = {"submission": fullname}
        self._event("duplicate_found", f"duplicate post {fullname} ({why})", job, data)
        self.gateway.delete_submission(fullname)
        self._event("duplicate_deleted", f"deleted duplicate post {fullname} ({why})", job, data)

    def _finish(
        self, job: PostJob, status: Status, reason: str, dry_run: bool = False,
        body: str | None = None,
    ) -> None:  # fmt: skip
        with self.sessions.begin() as session:
            row = session.get(PostJob, job.id)
            row.dry_run = dry_run
            if body is not None:  # a dry run records the body it would have sent
                row.body = body
            queries.move(row, status, now=self.clock(), reason=reason)
        log.info("post job %s: %s (%s)", job.id, status, reason)

    def _delay(self, job: PostJob, exc: RateLimited) -> None:
        """RATELIMIT is a delay, not a failure: back to approved until Reddit's time."""
        wait, now = exc.retry_after or 60.0, self.clock()
        with self.sessions.begin() as session:
            row = session.get(PostJob, job.id)
            queries.move(row, Status.APPROVED, now=now, reason="ratelimit")
            row.not_before, row.attempts = now + timedelta(seconds=wait), row.attempts - 1
        log.info("post job %s: rate limited, retrying in %.0f s", job.id, wait)

    # ------------------------------------------------------------------ reconciliation

    def reconcile(self, *, stale_only: bool) -> int:
        """Settle post jobs left in ``posting``; at start-up (single instance) all of them."""
        with self.sessions() as session:
            jobs = queries.jobs_in_posting(
                session, account=self.account, stale_only=stale_only,
                in_flight=self.limits.in_flight, model=PostJob,
            )  # fmt: skip
        for job in jobs:
            try:
                self.reconcile_job(job)
            except RedditbotError as exc:
                log.warning("post job %s: reconciliation failed (%s); will retry", job.id, exc)
        return len(jobs)

    def reconcile_job(self, job: PostJob) -> None:
        """Find the post on the account's submitted listing: record it, or send it again."""
        mine = self._matching(job)
        with self.sessions() as session:
            kept = session.get(PostJob, job.id).submission_fullname  # another instance's record
        if kept is not None:
            for extra in (s for s in mine if s.fullname != kept):
                self._delete_duplicate(job, extra.fullname, "found while reconciling")
            return None
        if mine:
            for extra in mine[1:]:
                self._delete_duplicate(job, extra.fullname, "found while reconciling")
            return self._record(job, mine[0], reconciled=True)
        now = self.clock()
        with self.sessions.begin() as session:
            row = session.get(PostJob, job.id, with_for_update=True)
            if row.status != Status.POSTING:
                return None  # another instance settled it meanwhile
            exhausted = row.attempts >= self.limits.max_attempts
            status = Status.FAILED if exhausted else Status.APPROVED
            reason = "post_attempts_exhausted" if exhausted else "reconciled_not_posted"
            queries.move(row, status, now=now, reason=reason)
        return None

    def _matching(self, job: PostJob) -> list[Any]:
        """The account's posts with this job's subreddit and title not already recorded."""
        with self.sessions() as session:
            known = set(
                session.scalars(
                    select(PostJob.submission_fullname).where(
                        PostJob.submission_fullname.is_not(None), PostJob.id != job.id
                    )
                )
            )
        found = [
            s
            for s in self.gateway.own_recent_submissions()
            if s.subreddit.lower() == job.subreddit.lower()
            and s.title == job.title
            and s.fullname not in known
        ]
        return sorted(found, key=lambda s: (s.created_utc, int(s.fullname[3:], 36)))

    def _event(self, kind: str, message: str, job: PostJob, data: dict | None = None) -> None:
        with self.sessions.begin() as session:
            queries.record_event(
                session, kind, message, now=self.clock(), level="warning", account=self.account,
                subreddit=job.subreddit, job_id=job.id, data=data or {},
            )  # fmt: skip


class SubmitStage:
    """The whole original-post path as one scheduled stage: schedule, write, moderate, send."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    @classmethod
    def build(
        cls,
        gateway: SubmissionGateway,
        sessions: sessionmaker[Session],
        settings: Any,
        generator: Generator,
        *,
        account: str,
        owner: str,
        moderator_for: Callable[[str], Any],
        posting: PostingFor | None = None,
        limits: SubmitLimits | None = None,
        clock: Clock = utcnow,
    ) -> SubmitStage:
        """Wire the four parts for the subreddits in ``settings``."""
        posting = posting or (lambda sub: posting_for(settings, sub))
        limits = limits or SubmitLimits()
        names = [s.name for s in settings.subreddits]
        common = {"account": account, "clock": clock}
        return cls(
            PostScheduler(sessions, subreddits=names, posting=posting, **common),
            PostWriter(
                sessions, settings, generator, owner=owner, posting=posting, limits=limits, **common
            ),
            PostModerator(
                sessions,
                settings,
                owner=owner,
                posting=posting,
                moderator_for=moderator_for,
                limits=limits,
                **common,
            ),
            PostSender(
                gateway,
                sessions,
                owner=owner,
                dry_run=settings.dry_run_for,
                footer=settings.footer_for,
                limits=limits,
                **common,
            ),
        )

    @property
    def sender(self) -> PostSender:
        return self.parts[-1]

    def run_once(self) -> int:
        return sum(part.run_once() for part in self.parts)

    def reconcile(self, *, stale_only: bool) -> int:
        """Settle post jobs left in ``posting`` (call at start-up, like the reply poster's)."""
        return self.sender.reconcile(stale_only=stale_only)


# --------------------------------------------------------------------------- prompt parts


def instruction_context(subreddit: str) -> ThreadContext:
    """The 'thread' the model answers: an instruction to write a new post for the subreddit."""
    return ThreadContext(
        subreddit=subreddit,
        title=f"New post for r/{subreddit}",
        selftext=INSTRUCTION.format(sub=subreddit),
        submission_author="AutoModerator",
    )


def few_shot_examples(session: Session, subreddit: str, count: int):
    """The subreddit's best stored self-posts (not the bot's) as (instruction, answer) pairs."""
    if count <= 0:
        return ()
    query = (
        select(SubmissionRow)
        .where(
            SubmissionRow.subreddit == subreddit,
            SubmissionRow.is_self.is_(True),
            SubmissionRow.selftext != "",
            SubmissionRow.bot_account.is_(None),
            SubmissionRow.removed.is_(False),
            SubmissionRow.deleted.is_(False),
            SubmissionRow.purged_at.is_(None),
        )
        .order_by(SubmissionRow.score.desc(), SubmissionRow.created_utc.desc())
        .limit(count)
    )
    context = instruction_context(subreddit)
    return tuple(
        (context, f"Title: {row.title}\nBody: {row.selftext}") for row in session.scalars(query)
    )
