"""Select: decide, for every stored item, whether the bot should answer it, and record why.

Every item gets a row in ``selection_decisions`` (``queued`` with its trigger, or ``ignored``
with a reason). A triggered item becomes a reply job; if a cap or the input gate refuses it,
the job is ``skipped`` with that reason, and the reason is also kept on the item's decision
(``queued`` with a trigger and a reason: a hostile target reads ``input:hostile:threat:0.93>=0.7``),
so "why did it not answer this?" is one query.
``!optout`` / ``!optin`` commands are recorded here, before anything of that user is judged.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from redditbot.config import SelectionSettings, Settings
from redditbot.domain import Clock, Decision, Status, Target, Verdict, utcnow
from redditbot.moderation import Moderator, TargetState, parse_opt_command, verdict_to_dict
from redditbot.pipeline.context import load_target
from redditbot.store import queries
from redditbot.store.models import (
    CommentRow,
    InboxRow,
    ModerationVerdictRow,
    OptOut,
    ReplyJob,
    SelectionDecision,
    SubmissionRow,
)

log = logging.getLogger(__name__)

DEAD = (Status.SKIPPED, Status.REJECTED, Status.FAILED)
QUESTION = re.compile(r"\?(\s|$)")


@dataclass(frozen=True)
class Choice:
    """The selection of one item: a trigger (answer it) or a reason (ignore it)."""

    trigger: str | None = None
    reason: str | None = None


def mentions_of(names: frozenset[str], text: str) -> bool:
    """Whether ``text`` pings one of ``names`` (u/name or /u/name, any case)."""
    return any(re.search(rf"(?<![\w/])/?u/{re.escape(n)}\b", text, re.IGNORECASE) for n in names)


def find_trigger(
    text: str,
    *,
    inbox_kind: str | None,
    is_post: bool,
    replies_to_bot: bool,
    policy: SelectionSettings,
    rng: random.Random,
    bot_names: frozenset[str] = frozenset(),
) -> str | None:
    """The first trigger of ``policy`` that ``text`` satisfies, or None.

    A mention is seen in the text itself as well as in the inbox: a comment can be stored from
    the subreddit feed before the inbox poll that would have flagged it.
    """
    triggers = policy.triggers
    if triggers.mentions and (inbox_kind == "username_mention" or mentions_of(bot_names, text)):
        return "mention"
    answered_bot = replies_to_bot or inbox_kind in ("comment_reply", "post_reply")
    if triggers.replies_to_bot and answered_bot:
        return "reply_to_bot"
    lowered = text.lower()
    for word in triggers.keywords:
        if re.search(rf"\b{re.escape(word.lower())}\b", lowered):
            return f"keyword:{word}"
    for pattern in triggers.regexes:
        if re.search(pattern, text):
            return f"regex:{pattern}"
    if triggers.questions and QUESTION.search(text):
        return "question"
    if triggers.new_posts and is_post:
        return "new_post"
    if triggers.reply_probability and rng.random() < triggers.reply_probability:
        return "random"
    return None


def in_quiet_hours(window: str, now: datetime) -> bool:
    """Whether ``now`` (UTC) falls in ``"HH:MM-HH:MM"``; windows may wrap midnight."""
    if not window:
        return False
    start, end = (time.fromisoformat(part) for part in window.split("-"))
    current = now.time().replace(tzinfo=None)
    return start <= current < end if start <= end else current >= start or current < end


class Selector:
    """The select stage; ``run_once()`` decides on a batch of undecided items."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        account: str,
        bot_usernames: frozenset[str],
        moderator_for: Callable[[str], Moderator],
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        owner: str = "selector",
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.lease = lease
        self.sessions, self.settings, self.clock, self.owner = sessions, settings, clock, owner
        self.account, self.bots = account, frozenset(n.lower() for n in bot_usernames)
        self.moderator_for = moderator_for
        self.rng = rng or random.Random(settings.selection.seed)
        self.watched = {s.name.lower() for s in settings.subreddits}

    def run_once(self) -> int:
        now = self.clock()
        with self.sessions.begin() as session:  # one selector at a time across instances
            if not queries.try_lease(
                session,
                account=self.account,
                name="stage:select",
                owner=self.owner,
                now=now,
                ttl=self.lease,
            ):
                return 0
        with self.sessions.begin() as session:
            items = self._undecided(session)
            inbox = self._inbox_kinds(session)
            return sum(self._consider(session, row, inbox.get(row.fullname), now) for row in items)

    # ------------------------------------------------------------------ loading

    def _undecided(self, session: Session) -> list[CommentRow | SubmissionRow]:
        batch = self.settings.selection.batch
        rows: list[CommentRow | SubmissionRow] = []
        for model in (SubmissionRow, CommentRow):
            decided = exists().where(
                SelectionDecision.account == self.account,
                SelectionDecision.fullname == model.fullname,
            )
            query = select(model).where(~decided).order_by(model.created_utc).limit(batch)
            rows += session.scalars(query)
        return sorted(rows, key=lambda row: row.created_utc)[:batch]

    def _inbox_kinds(self, session: Session) -> dict[str, str]:
        query = select(InboxRow.fullname, InboxRow.kind).where(InboxRow.account == self.account)
        return {key: value for key, value in session.execute(query)}

    # ------------------------------------------------------------------ deciding

    def _consider(self, session: Session, row, inbox_kind: str | None, now: datetime) -> int:
        policy = self.settings.selection_for(row.subreddit)
        if in_quiet_hours(policy.quiet_hours, now):
            return 0  # left undecided: judged after the quiet hours
        self._apply_opt_command(session, row, now)
        choice = self._choose(session, row, inbox_kind, policy, now)
        decision = SelectionDecision(
            account=self.account,
            fullname=row.fullname,
            subreddit=row.subreddit,
            decision="queued" if choice.trigger else "ignored",
            trigger=choice.trigger,
            reason=choice.reason,
            decided_at=now,
        )
        session.add(decision)
        if choice.trigger:
            decision.reason = self._queue(session, row, choice.trigger, policy, now)
        return 1

    def _choose(self, session, row, inbox_kind, policy: SelectionSettings, now) -> Choice:
        if row.bot_account or (row.author or "").lower() in self.bots:
            return Choice(reason="own")
        if row.subreddit.lower() not in self.watched and inbox_kind is None:
            return Choice(reason="unwatched_subreddit")
        age = now.timestamp() - row.created_utc
        if age > policy.max_age_hours * 3600:
            return Choice(reason="too_old")
        if policy.min_score is not None and row.score < policy.min_score:
            return Choice(reason="low_score")
        trigger = find_trigger(
            _text(row),
            inbox_kind=inbox_kind,
            is_post=isinstance(row, SubmissionRow),
            replies_to_bot=self._parent_is_bot(session, row),
            policy=policy,
            rng=self.rng,
            bot_names=self.bots,
        )
        return Choice(trigger=trigger) if trigger else Choice(reason="no_trigger")

    def _parent_is_bot(self, session: Session, row) -> bool:
        parent_name = getattr(row, "parent_fullname", None)
        if not parent_name:
            return False
        model = CommentRow if parent_name.startswith("t1_") else SubmissionRow
        parent = session.get(model, parent_name)
        return parent is not None and bool(parent.bot_account)

    def _apply_opt_command(self, session: Session, row, now: datetime) -> None:
        command = parse_opt_command(_text(row))
        if command is None or not row.author:
            return
        opt = session.get(OptOut, row.author) or OptOut(username=row.author)
        opt.opted_out, opt.source_fullname, opt.updated_at = command == "optout", row.fullname, now
        session.add(opt)
        session.flush()
        log.info("u/%s: %s (%s)", row.author, command, row.fullname)

    # ------------------------------------------------------------------ queueing

    def _queue(self, session, row, trigger: str, policy: SelectionSettings, now) -> str | None:
        """Make the reply job; returns why it was skipped at once (a cap, the input gate)."""
        link = getattr(row, "link_fullname", row.fullname)
        job = ReplyJob(
            account=self.account,
            target_fullname=row.fullname,
            subreddit=row.subreddit,
            link_fullname=link,
            trigger=trigger,
            status=Status.QUEUED,
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.flush()
        refusal = self._cap_reached(session, row.subreddit, policy, now, job.id)
        if refusal is None:
            refusal = self._gate(session, job, now)
        if refusal:
            queries.move(job, Status.SKIPPED, now=now, reason=refusal)
        return refusal

    def _cap_reached(self, session, subreddit: str, policy, now, job_id: int) -> str | None:
        caps = policy.caps
        bounds = [
            ("per_hour", caps.per_hour, timedelta(hours=1), subreddit),
            ("per_day", caps.per_day, timedelta(days=1), subreddit),
            ("total_per_hour", caps.total_per_hour, timedelta(hours=1), None),
            ("total_per_day", caps.total_per_day, timedelta(days=1), None),
        ]
        for name, limit, window, sub in bounds:
            if limit and self._live_jobs(session, now - window, sub, exclude=job_id) >= limit:
                return f"cap:{name}"
        return None

    def _live_jobs(self, session: Session, since, subreddit: str | None, exclude: int) -> int:
        query = (
            select(func.count())
            .select_from(ReplyJob)
            .where(
                ReplyJob.account == self.account,
                ReplyJob.created_at >= since,
                ReplyJob.status.not_in(DEAD),
                ReplyJob.id != exclude,
            )
        )
        if subreddit:
            query = query.where(ReplyJob.subreddit == subreddit)
        return session.scalar(query) or 0

    def _gate(self, session: Session, job: ReplyJob, now: datetime) -> str | None:
        """The input gate; its verdict is stored. Returns the refusal reason, if any."""
        target = load_target(session, job.target_fullname)
        verdict: Verdict = self.moderator_for(job.subreddit).check_target(
            target, self._target_state(session, target, job, now)
        )
        record = verdict_to_dict(verdict)
        session.add(
            ModerationVerdictRow(
                job_id=job.id,
                gate="input",
                decision=verdict.decision.value,
                checks=record["checks"],
                reasons=list(verdict.reasons),
                created_at=now,
            )
        )
        if verdict.decision is Decision.REJECT:
            return "input:" + (verdict.reasons[0] if verdict.reasons else "rejected")
        return None

    def _target_state(self, session, target: Target, job: ReplyJob, now) -> TargetState:
        opted = select(OptOut.username).where(OptOut.opted_out.is_(True))
        return TargetState(
            bot_accounts=self.bots,
            opted_out_users=frozenset(name.lower() for name in session.scalars(opted)),
            replies_in_thread=self._live_in_thread(session, job),
            replies_to_user=self._replies_to_user(session, target.author, job, now),
        )

    def _live_in_thread(self, session: Session, job: ReplyJob) -> int:
        query = (
            select(func.count())
            .select_from(ReplyJob)
            .where(
                ReplyJob.account == self.account,
                ReplyJob.link_fullname == job.link_fullname,
                ReplyJob.status.not_in(DEAD),
                ReplyJob.id != job.id,
            )
        )
        return session.scalar(query) or 0

    def _replies_to_user(self, session, author: str | None, job: ReplyJob, now) -> int:
        if not author:
            return 0
        targets = select(CommentRow.fullname).where(CommentRow.author == author)
        posts = select(SubmissionRow.fullname).where(SubmissionRow.author == author)
        query = (
            select(func.count())
            .select_from(ReplyJob)
            .where(
                ReplyJob.account == self.account,
                ReplyJob.status.not_in(DEAD),
                ReplyJob.created_at >= now - timedelta(days=1),
                ReplyJob.id != job.id,
                ReplyJob.target_fullname.in_(targets.union(posts)),
            )
        )
        return session.scalar(query) or 0


def _text(row) -> str:
    if isinstance(row, SubmissionRow):
        return f"{row.title}\n\n{row.selftext}".strip()
    return row.body
