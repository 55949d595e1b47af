"""The bot's vocabulary: plain frozen dataclasses and enums shared by every stage.

Nothing here imports PRAW, SQLAlchemy, torch or transformers: adapters translate their own
objects into these at their boundary, so the pipeline can be read and tested without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

Clock = Callable[[], datetime]


class Status(StrEnum):
    """States of a job (docs/architecture.md, "A job's state machine": queued → … → posted)."""

    QUEUED = "queued"
    GENERATING = "generating"
    DRAFTED = "drafted"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    POSTING = "posting"
    POSTED = "posted"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({Status.POSTED, Status.REJECTED, Status.SKIPPED, Status.FAILED})

# Every move a reply job may make; anything else is a bug and is refused by the store.
# Any state may also end in skipped or failed.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.GENERATING}),
    Status.GENERATING: frozenset({Status.DRAFTED, Status.QUEUED}),
    Status.DRAFTED: frozenset(
        {Status.APPROVED, Status.PENDING_REVIEW, Status.REJECTED, Status.QUEUED}
    ),
    Status.PENDING_REVIEW: frozenset({Status.APPROVED, Status.REJECTED}),
    Status.APPROVED: frozenset({Status.POSTING}),
    Status.POSTING: frozenset({Status.POSTED, Status.APPROVED}),
}


def can_move(source: Status, target: Status) -> bool:
    """Whether a job in ``source`` may move to ``target``."""
    if source.terminal:
        return False
    return target in (Status.SKIPPED, Status.FAILED) or target in TRANSITIONS[source]


class Stage(Protocol):
    """A pipeline stage: each run claims a batch of rows, works on them, hands them on through
    their state, and says how many it handled. Stages never call each other."""

    def run_once(self) -> int:
        """One run; the number of rows handled (0: nothing to do)."""
        ...


def utcnow() -> datetime:
    """The wall clock, UTC. Stages take a ``clock`` argument defaulting to this."""
    return datetime.now(UTC)


class Decision(StrEnum):
    """What moderation says about a target or a draft."""

    APPROVE = "approve"
    REVIEW = "review"  # hold for a person (pending_review)
    REJECT = "reject"


# --------------------------------------------------------------------------- Reddit items


@dataclass(frozen=True)
class Submission:
    """A thread (t3) as the bot stores it."""

    id: str
    subreddit: str
    author: str | None  # None when the account is deleted
    title: str
    selftext: str = ""
    permalink: str = ""
    url: str = ""
    created_utc: float = 0.0
    score: int = 0
    num_comments: int = 0
    is_self: bool = True
    locked: bool = False
    archived: bool = False
    over_18: bool = False
    stickied: bool = False
    distinguished: str | None = None
    removed: bool = False
    deleted: bool = False

    @property
    def fullname(self) -> str:
        return f"t3_{self.id}"


@dataclass(frozen=True)
class Comment:
    """A comment (t1) as the bot stores it."""

    id: str
    subreddit: str
    link_id: str  # fullname of the submission, "t3_…"
    parent_id: str  # fullname of the parent, "t3_…" or "t1_…"
    author: str | None
    body: str
    permalink: str = ""
    created_utc: float = 0.0
    score: int = 0
    depth: int = 0
    locked: bool = False
    archived: bool = False
    stickied: bool = False
    distinguished: str | None = None
    removed: bool = False
    deleted: bool = False

    @property
    def fullname(self) -> str:
        return f"t1_{self.id}"


@dataclass(frozen=True)
class InboxItem:
    """A mention of the bot or a reply to it, from the account's inbox."""

    comment: Comment
    kind: str  # "username_mention" | "comment_reply" | "post_reply"
    new: bool = True


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class ContextComment:
    """One comment of the chain that leads to the target, oldest first."""

    author: str | None
    body: str


@dataclass(frozen=True)
class ThreadContext:
    """Everything the prompt is built from. ``target_*`` is None when answering the post."""

    subreddit: str
    title: str
    selftext: str = ""
    submission_author: str | None = None
    ancestors: tuple[ContextComment, ...] = ()
    target_author: str | None = None
    target_body: str | None = None


@dataclass(frozen=True)
class SamplingParams:
    """Per-request sampling. ``n`` candidates are returned for each request."""

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 50
    max_new_tokens: int = 96
    repetition_penalty: float = 1.1
    seed: int | None = None
    n: int = 1


@dataclass(frozen=True)
class GenerationRequest:
    """One reply to write. ``model`` None means the backend's default model."""

    key: str  # caller's identifier (e.g. the reply job id), echoed back in the result
    context: ThreadContext
    persona: str = ""
    params: SamplingParams = field(default_factory=SamplingParams)
    model: str | None = None
    few_shot: tuple[tuple[ThreadContext, str], ...] = ()


@dataclass(frozen=True)
class Candidate:
    """One generated reply text with what the scorer needs."""

    text: str
    tokens_out: int
    mean_logprob: float | None = None
    finish_reason: str = "stop"  # "stop" | "length"


@dataclass(frozen=True)
class Generation:
    """The full record of one request: enough to answer "why did the bot say that?"."""

    key: str
    model_id: str
    prompt: str
    params: dict[str, Any]
    candidates: tuple[Candidate, ...]
    tokens_in: int
    latency_s: float
    backend: str = "transformers"


class Generator(Protocol):
    """What the pipeline needs from a reply generator."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """Generate replies for all requests (batched where the backend can)."""
        ...


# --------------------------------------------------------------------------- moderation


@dataclass(frozen=True)
class CheckResult:
    """One moderation check's outcome. ``passed`` False means the check objects."""

    name: str
    passed: bool
    score: float | None = None
    reason: str | None = None  # machine-readable, e.g. "toxicity:0.91>0.80"
    action: Decision = Decision.REJECT  # what a failure of this check asks for
    # What kind of harm a failure is ("harassment", "personal_data", "spam", ...): every
    # failing result names one, so verdicts can be counted and thresholded per category.
    category: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The filter's decision with every check's result."""

    decision: Decision
    checks: tuple[CheckResult, ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        return self.decision is Decision.APPROVE


@dataclass(frozen=True)
class Target:
    """What the input gate looks at: the item the bot would answer, and its surroundings."""

    fullname: str
    subreddit: str
    author: str | None
    body: str  # comment body, or title + selftext for a submission
    depth: int = 0
    distinguished: str | None = None
    locked: bool = False
    archived: bool = False
    removed: bool = False
    deleted: bool = False
    over_18: bool = False
    link_id: str | None = None


@dataclass(frozen=True)
class Draft:
    """A reply text to be judged by the output gate, with the thread it answers."""

    text: str
    subreddit: str
    context: ThreadContext
    persona: str = ""


# --------------------------------------------------------------------------- Reddit gateway

# Facts of Reddit's API that the stages and the metrics need as much as the adapter does.
LISTING_LIMIT = 100  # Reddit's maximum page size: the fewest requests per new item
# Reddit's answers to a write that mean "never, for this target": the job ends skipped with the
# reason on the right (and /metrics counts the refusals by it).
TERMINAL_API_ERRORS = {
    "THREAD_LOCKED": "thread_locked",
    "DELETED_COMMENT": "deleted_comment",
    "TOO_OLD": "too_old",
    "TOO_MANY_COMMENTS": "too_many_comments",
    "SUBREDDIT_NOTALLOWED": "subreddit_not_allowed",
    "NO_SELFS": "no_selfs",
}


@dataclass(frozen=True)
class PostedComment:
    """A comment the bot wrote, as Reddit reports it."""

    fullname: str
    parent_id: str
    permalink: str = ""
    body: str = ""
    score: int = 0
    created_utc: float = 0.0


@dataclass(frozen=True)
class PostedSubmission:
    """A thread the bot started, as Reddit reports it."""

    fullname: str
    subreddit: str
    title: str = ""
    permalink: str = ""
    created_utc: float = 0.0


@dataclass(frozen=True)
class ListingPage:
    """One page of a listing, newest first, and the cursor for the next (older) page."""

    items: tuple[Any, ...]
    after: str | None


class RedditGateway(Protocol):
    """What the stages need from Reddit. Errors are those of ``redditbot.errors``."""

    def me(self) -> str:
        """The account's username."""
        ...

    def submissions(self, subreddits: Sequence[str], after: str | None = None) -> ListingPage:
        """Newest submissions across ``subreddits`` (one multi-subreddit request)."""
        ...

    def comments(self, subreddits: Sequence[str], after: str | None = None) -> ListingPage:
        """Newest comments across ``subreddits`` (one multi-subreddit request)."""
        ...

    def inbox(self) -> list[InboxItem]:
        """Unread mentions of the account and replies to it."""
        ...

    def mark_read(self, fullnames: Sequence[str]) -> None:
        """Mark inbox items read."""
        ...

    def fetch(self, fullnames: Sequence[str]) -> list[Submission | Comment]:
        """Current state of items by fullname (deleted ones included, as Reddit shows them)."""
        ...

    def reply(self, parent_fullname: str, text: str) -> PostedComment | None:
        """Post a reply. Raises RateLimited, TargetUnavailable, WriteOutcomeUnknown, …"""
        ...

    def own_replies_to(self, parent_fullname: str) -> list[PostedComment]:
        """The account's comments whose parent is ``parent_fullname`` (for reconciliation)."""
        ...

    def own_recent_comments(self, limit: int = 100) -> list[PostedComment]:
        """The account's newest comments, with their scores."""
        ...

    def delete(self, fullname: str) -> None:
        """Delete one of the account's comments."""
        ...
