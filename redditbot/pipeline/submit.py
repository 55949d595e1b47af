"""Submit: the bot starts threads of its own, on a schedule, through the same guarded path.

```
slot due ──schedule_posts──▶ queued ──write_posts──▶ drafted ──moderate_posts──▶ approved
                                                       │            └─(review)→ pending_review
                                                       └→ queued again (regenerate) | rejected
approved ──send_posts──▶ posting ──▶ posted
```

Four stages, placed like the others with ``--stages`` (``submit`` names all four). The sender is
the reply poster's (``pipeline.post.Sender``); ``OriginalPosts`` says how a post is sent and how
a lost one is found again.

- One ``post_jobs`` row per (account, subreddit, slot) under a UNIQUE key: a slot gets at most one
  post, whatever restarts and crashes happen.
- ``posting`` is committed before ``/api/submit``; a job found in ``posting`` is reconciled with
  the account's own submitted listing before anything is sent again.
- RATELIMIT is a delay; SUBREDDIT_NOTALLOWED, NO_SELFS, SUBMIT_VALIDATION_*, a title over 300
  characters and a 403 are terminal ``skipped`` reasons; repeated 403s pause the account there.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from redditbot.config import Settings
from redditbot.disclosure import REDDIT_SELFPOST_LIMIT, disclosed, footer_cost
from redditbot.domain import (
    Clock,
    Decision,
    Draft,
    Generation,
    GenerationRequest,
    Generator,
    PostedSubmission,
    Stage,
    Status,
    ThreadContext,
    utcnow,
)
from redditbot.moderation import Moderator, ReplyState, verdict_to_dict
from redditbot.pipeline.drafting import try_seed
from redditbot.pipeline.generate import error_reason, generate_guarded
from redditbot.pipeline.moderate import approve_or_hold, regenerate_or_reject, review_mode
from redditbot.pipeline.post import PosterLimits, PostPolicy, Sender, oldest_first
from redditbot.posting_settings import OriginalPostSettings
from redditbot.store import queries
from redditbot.store.models import PostJob, SubmissionRow

log = logging.getLogger(__name__)

PostingFor = Callable[[str], OriginalPostSettings]
INSTRUCTION = (
    "Write a new text post for r/{sub} in the community's own style. "
    "Answer with one line 'Title: ...' and then 'Body: ...'."
)
MIN_POST_TOKENS = 256  # a title and a body need more room than a reply
BATCH = 4  # post jobs a stage takes at a time
LEASE = timedelta(minutes=10)
MAX_GENERATIONS = 3


class SubmissionGateway(Protocol):
    """What the sender of posts needs from Reddit (``PrawGateway`` has it)."""

    def submit(
        self,
        subreddit: str,
        title: str,
        body: str,
        flair_id: str | None = None,
        flair_text: str | None = None,
    ) -> PostedSubmission: ...

    def own_recent_submissions(self, limit: int = 100) -> list[PostedSubmission]: ...

    def delete_submission(self, fullname: str) -> None: ...


def posting_for(settings: Settings, subreddit: str) -> OriginalPostSettings:
    """A subreddit's ``posting`` table, or the disabled default."""
    sub = settings.subreddit(subreddit)
    return sub.posting if sub else OriginalPostSettings()


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


# --------------------------------------------------------------------------- stages


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

    def _day_full(
        self, session: Session, subreddit: str, key: str, posting: OriginalPostSettings
    ) -> bool:
        same_day = PostJob.slot.like(f"{key[:10]}%")
        query = select(func.count()).where(
            PostJob.account == self.account, PostJob.subreddit == subreddit, same_day
        )
        return (session.scalar(query) or 0) >= posting.max_per_day

    def _row(
        self, subreddit: str, key: str, slot: datetime, posting: OriginalPostSettings, now: datetime
    ) -> dict[str, Any]:
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
        settings: Settings,
        generator: Generator,
        *,
        account: str,
        owner: str,
        posting: PostingFor,
        batch: int = BATCH,
        lease: timedelta = LEASE,
        max_generations: int = MAX_GENERATIONS,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions, self.settings, self.generator = sessions, settings, generator
        self.account, self.owner, self.posting = account, owner, posting
        self.batch, self.lease, self.max_generations = batch, lease, max_generations
        self.clock = clock

    def run_once(self) -> int:
        now = self.clock()
        with self.sessions.begin() as session:
            self._requeue_abandoned(session, now)
            jobs = queries.claim_jobs(
                session,
                model=PostJob,
                account=self.account,
                status=Status.QUEUED,
                owner=self.owner,
                now=now,
                lease=self.lease,
                limit=self.batch,
            )
            requests = [self.request(session, job) for job in jobs]
            for job in jobs:
                queries.move(job, Status.GENERATING, now=now, keep_lease=True)
        if not jobs:
            return 0
        return generate_guarded(
            self.generator,
            jobs,
            requests,
            store=self._settle,
            release=lambda jobs, reason: self._settle(jobs, [], {}, failed_reason=reason),
        )

    def _requeue_abandoned(self, session: Session, now: datetime) -> None:
        """Jobs left in ``generating`` by a crash go back to the queue once their lease ends."""
        queries.requeue_stuck_generating(
            session, PostJob, account=self.account, now=now, reason="generation_abandoned"
        )

    def request(self, session: Session, job: PostJob) -> GenerationRequest:
        """The generation request for one post job (public: the CLI can show a prompt)."""
        model = self.settings.model_for(job.subreddit)
        params = model.default_sampling()
        params = replace(
            params,
            max_new_tokens=max(params.max_new_tokens, MIN_POST_TOKENS),
            seed=try_seed(params, job.id * 1000, job.generations),
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
        self,
        jobs: list[PostJob],
        generations: list[Generation],
        failures: dict[str, Exception],
        failed_reason: str | None = "generation_empty",
    ) -> None:
        """Store each job's generation; a job without one is retried (``failed_reason`` None:
        not the job's fault, back to the queue uncounted)."""
        now = self.clock()
        by_key = {g.key: g for g in generations}
        with self.sessions.begin() as session:
            for job in jobs:
                row = session.get(PostJob, job.id)
                generation = by_key.get(str(job.id))
                if str(job.id) in failures:
                    self._retry_or_fail(row, error_reason(failures[str(job.id)]), now)
                elif generation is not None and generation.candidates:
                    self._store(row, generation, now)
                elif failed_reason is None:
                    queries.move(row, Status.QUEUED, now=now)
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
        status = Status.FAILED if row.generations >= self.max_generations else Status.QUEUED
        queries.move(row, status, now=now, reason=reason)


class PostModerator:
    """Judges drafted posts: title rules, then the subreddit's moderator on title and body."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        account: str,
        owner: str,
        posting: PostingFor,
        moderator_for: Callable[[str], Moderator],
        batch: int = BATCH,
        lease: timedelta = LEASE,
        max_generations: int = MAX_GENERATIONS,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions, self.settings, self.account, self.owner = sessions, settings, account, owner
        self.posting, self.moderator_for = posting, moderator_for
        self.batch, self.lease, self.max_generations = batch, lease, max_generations
        self.clock = clock

    def run_once(self) -> int:
        now = self.clock()
        with self.sessions.begin() as session:
            jobs = queries.claim_jobs(
                session,
                model=PostJob,
                account=self.account,
                status=Status.DRAFTED,
                owner=self.owner,
                now=now,
                lease=self.lease,
                limit=self.batch,
            )
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
            regenerate_or_reject(
                job, reason, tries=job.generations, max_generations=self.max_generations, now=now
            )
            return
        held = decision is Decision.REVIEW or review_mode(self.settings, job.subreddit)
        approve_or_hold(job, held=held, reasons=reasons, now=now)


class OriginalPosts:
    """Original posts as the sender sends them: a self-post, recorded on its ``post_jobs`` row
    (the body stored with its footer, as Reddit gets it)."""

    model = PostJob
    noun, label, interrupted = "post", "post job", "submit_interrupted"

    def __init__(self, gateway: SubmissionGateway, sessions: sessionmaker[Session]) -> None:
        self.gateway, self.sessions = gateway, sessions

    def where(self, job: PostJob) -> str:
        return f"in r/{job.subreddit}"

    def target(self, job: PostJob) -> str | None:
        return None

    def text(self, job: PostJob, footer: str) -> str:
        return disclosed(job.body or "", footer)

    def refusal(self, job: PostJob) -> str | None:
        return None

    def send(self, job: PostJob, text: str) -> PostedSubmission:
        return self.gateway.submit(
            job.subreddit, job.title or "", text, flair_id=job.flair_id, flair_text=job.flair_text
        )

    def find_existing(self, job: PostJob) -> list[PostedSubmission]:
        """The account's posts with this job's subreddit and title not recorded by another job."""
        with self.sessions() as session:
            query = select(PostJob.submission_fullname).where(
                PostJob.submission_fullname.is_not(None), PostJob.id != job.id
            )
            known = set(session.scalars(query))
        found = [
            s
            for s in self.gateway.own_recent_submissions()
            if s.subreddit.lower() == job.subreddit.lower()
            and s.title == job.title
            and s.fullname not in known
        ]
        return oldest_first(found)

    def delete(self, fullname: str) -> None:
        self.gateway.delete_submission(fullname)

    def posting_values(self, text: str) -> dict[str, Any]:
        return {"body": text}

    def recorded(self, session: Session, job: PostJob) -> str | None:
        return session.get(PostJob, job.id).submission_fullname

    def record(
        self,
        session: Session,
        row: PostJob,
        sent: PostedSubmission,
        text: str,
        *,
        reconciled: bool,
        now: datetime,
    ) -> None:
        row.submission_fullname, row.permalink = sent.fullname, sent.permalink or None
        row.reconciled, row.posted_at = reconciled, now

    def record_dry_run(self, session: Session, row: PostJob, text: str, now: datetime) -> None:
        row.dry_run, row.body = True, text

    def duplicate_data(self, sent: PostedSubmission) -> dict[str, Any]:
        return {"submission": sent.fullname}


class PostSender(Sender[PostJob, PostedSubmission]):
    """The send_posts stage: the sender of original posts, exactly once per slot."""

    def __init__(
        self,
        gateway: SubmissionGateway,
        sessions: sessionmaker[Session],
        *,
        account: str,
        owner: str,
        policy: Callable[[str], PostPolicy],
        limits: PosterLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        posts = OriginalPosts(gateway, sessions)
        limits = limits or PosterLimits(batch=BATCH, lease=LEASE)
        super().__init__(
            posts, sessions, account=account, owner=owner, policy=policy, limits=limits, clock=clock
        )


@dataclass(frozen=True)
class PostStages:
    """The four stages of original posts, in pipeline order."""

    schedule_posts: PostScheduler
    write_posts: PostWriter
    moderate_posts: PostModerator
    send_posts: PostSender

    def by_name(self) -> dict[str, Stage]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


POST_STAGES = tuple(field.name for field in fields(PostStages))


def post_stages(
    gateway: SubmissionGateway,
    sessions: sessionmaker[Session],
    settings: Settings,
    generator: Generator,
    *,
    account: str,
    owner: str,
    moderator_for: Callable[[str], Moderator],
    policy: Callable[[str], PostPolicy] | None = None,
    posting: PostingFor | None = None,
    lease: timedelta = LEASE,
    in_flight: timedelta = PosterLimits.in_flight,
    clock: Clock = utcnow,
) -> PostStages:
    """The stages of original posts for the subreddits in ``settings``."""
    posting = posting or (lambda sub: posting_for(settings, sub))
    policy = policy or (
        lambda sub: PostPolicy(dry_run=settings.dry_run_for(sub), footer=settings.footer_for(sub))
    )
    names = [s.name for s in settings.subreddits]
    common = {"account": account, "clock": clock}
    jobs = {"owner": owner, "posting": posting, "lease": lease} | common
    limits = PosterLimits(batch=BATCH, lease=lease, in_flight=in_flight)
    return PostStages(
        schedule_posts=PostScheduler(sessions, subreddits=names, posting=posting, **common),
        write_posts=PostWriter(sessions, settings, generator, **jobs),
        moderate_posts=PostModerator(sessions, settings, moderator_for=moderator_for, **jobs),
        send_posts=PostSender(
            gateway, sessions, owner=owner, policy=policy, limits=limits, **common
        ),
    )


class SubmitStage:
    """The stages of original posts run one after the other, as one."""

    def __init__(self, stages: PostStages) -> None:
        self.parts: tuple[Stage, ...] = tuple(stages.by_name().values())
        self.sender = stages.send_posts

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
