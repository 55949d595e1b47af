"""Context → reply pairs from a subreddit's stored threads, cleaned, deduplicated and split.

Every stored comment of the subreddit is a reply to its parent, so each usable comment gives one
pair: the thread as the generator would show it (post, earlier comments, the comment answered)
and the comment's text. What must never be learned is left out before any text is kept:
deleted and removed text, the bot's own text (rows marked with ``bot_account``, and anything
written by those accounts) and everything written by users who opted out. A pair whose parent
is such text is dropped; such text higher up the chain is left out of the context.

The split is by thread, so no thread ever has pairs on both sides of it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from redditbot.domain import ContextComment, GenerationRequest, ThreadContext
from redditbot.errors import ConfigError
from redditbot.generation.prompts import ApproxTokenizer, Message, build_messages
from redditbot.generation.text import clean_reddit_text, normalize_whitespace
from redditbot.pipeline.context import MAX_ANCESTORS
from redditbot.store.models import CommentRow, OptOut, SubmissionRow

DELETED_TEXT = frozenset({"[deleted]", "[removed]", "[ removed by reddit ]"})
UNLIMITED_PROMPT_TOKENS = 10**9
TRAIN, VALIDATION = "train", "validation"


@dataclass(frozen=True)
class Pair:
    """One training example: what the generator would be shown, and what a user answered."""

    thread: str  # the submission's fullname: the unit of the train/validation split
    reply_id: str  # the answering comment's fullname
    context: ThreadContext
    reply: str

    def to_json(self, split: str, persona: str) -> dict[str, Any]:
        """A JSON-lines record: the raw pair, and the chat messages in the generator's format."""
        record = asdict(self)
        record["split"] = split
        record["messages"] = pair_messages(self, persona)
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Pair:
        """The pair back from ``to_json``'s record."""
        context = dict(record["context"])
        context["ancestors"] = tuple(ContextComment(**c) for c in context["ancestors"])
        return cls(record["thread"], record["reply_id"], ThreadContext(**context), record["reply"])


@dataclass(frozen=True)
class Dataset:
    """The pairs of one subreddit, split by thread, with what was left out and why."""

    subreddit: str
    train: tuple[Pair, ...]
    validation: tuple[Pair, ...]
    dropped: Mapping[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """Figures for the model card."""
        return {
            "train_pairs": len(self.train),
            "validation_pairs": len(self.validation),
            "train_threads": len({p.thread for p in self.train}),
            "validation_threads": len({p.thread for p in self.validation}),
            "dropped": dict(sorted(self.dropped.items())),
        }

    def records(self, persona: str) -> Iterator[dict[str, Any]]:
        """Every pair as a JSON-lines record, training pairs first."""
        for split, pairs in ((TRAIN, self.train), (VALIDATION, self.validation)):
            for pair in pairs:
                yield pair.to_json(split, persona)


def pair_messages(pair: Pair, persona: str) -> list[Message]:
    """System and user messages exactly as the generator builds them, then the reply."""
    request = GenerationRequest(key=pair.reply_id, context=pair.context, persona=persona)
    messages = build_messages(request, ApproxTokenizer(), UNLIMITED_PROMPT_TOKENS)
    return [*messages, {"role": "assistant", "content": clean_reply(pair.reply)}]


def clean_reply(text: str) -> str:
    """The reply as it is learned: cleaned like any Reddit text the generator reads."""
    return clean_reddit_text(text)


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Exclusions:
    """Whose text is never kept."""

    opted_out: frozenset[str]
    bots: frozenset[str]

    def reason(self, author: str | None, body: str, row: CommentRow | SubmissionRow) -> str | None:
        """Why this text may not be used, or None when it may."""
        name = (author or "").lower()
        if row.bot_account or name in self.bots:
            return "bot"
        if name in self.opted_out:
            return "opted_out"
        if row.deleted or body.strip().lower() == "[deleted]":
            return "deleted"
        if row.removed or body.strip().lower() in DELETED_TEXT:
            return "removed"
        if not author:  # a deleted account
            return "deleted"
        if row.purged_at is not None:  # gone from Reddit: its text is gone from the store too
            return "purged"
        return None if clean_reddit_text(body) else "empty"


def build_dataset(
    session: Session,
    subreddit: str,
    *,
    bot_usernames: Iterable[str] = (),
    validation_fraction: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """All usable pairs of ``subreddit``'s stored threads, deduplicated and split by thread."""
    exclusions = _exclusions(session, bot_usernames)
    dropped: Counter[str] = Counter()
    pairs = list(_pairs(session, subreddit, exclusions, dropped))
    unique = _deduplicate(pairs, dropped)
    train, validation = split_by_thread(unique, validation_fraction, seed)
    return Dataset(subreddit, tuple(train), tuple(validation), dict(dropped))


def _exclusions(session: Session, bot_usernames: Iterable[str]) -> _Exclusions:
    opted = session.scalars(select(OptOut.username).where(OptOut.opted_out.is_(True)))
    bots = {name for name in bot_usernames if name}
    for model in (CommentRow, SubmissionRow):
        marked = select(model.author).where(model.bot_account.is_not(None)).distinct()
        bots.update(name for name in session.scalars(marked) if name)
    return _Exclusions(frozenset(n.lower() for n in opted), frozenset(n.lower() for n in bots))


def _pairs(
    session: Session, subreddit: str, exclusions: _Exclusions, dropped: Counter[str]
) -> Iterator[Pair]:
    wanted = subreddit.lower()
    posts = {
        row.fullname: row
        for row in session.scalars(
            select(SubmissionRow).where(func.lower(SubmissionRow.subreddit) == wanted)
        )
    }
    comments_query = (
        select(CommentRow)
        .where(func.lower(CommentRow.subreddit) == wanted)
        .order_by(CommentRow.created_utc, CommentRow.fullname)
    )
    comments = {row.fullname: row for row in session.scalars(comments_query)}
    for row in comments.values():
        reason = _pair_problem(row, posts, comments, exclusions)
        if reason:
            dropped[reason] += 1
            continue
        yield _pair(row, posts[row.link_fullname], comments, exclusions)


def _pair_problem(
    row: CommentRow,
    posts: Mapping[str, SubmissionRow],
    comments: Mapping[str, CommentRow],
    exclusions: _Exclusions,
) -> str | None:
    """Why ``row`` gives no pair: its own text, its thread's, or its parent's."""
    reason = exclusions.reason(row.author, row.body, row)
    if reason:
        return reason
    post = posts.get(row.link_fullname)
    if post is None:
        return "thread_not_stored"
    post_reason = exclusions.reason(post.author, f"{post.title}\n{post.selftext}", post)
    if post_reason:
        return f"thread_{post_reason}"
    if not row.parent_fullname.startswith("t1_"):
        return None
    parent = comments.get(row.parent_fullname)
    if parent is None:
        return "parent_not_stored"
    parent_reason = exclusions.reason(parent.author, parent.body, parent)
    return f"parent_{parent_reason}" if parent_reason else None


def _pair(
    row: CommentRow,
    post: SubmissionRow,
    comments: Mapping[str, CommentRow],
    exclusions: _Exclusions,
) -> Pair:
    parent = comments.get(row.parent_fullname)
    context = ThreadContext(
        subreddit=post.subreddit,
        title=post.title,
        selftext="" if post.selftext.strip().lower() in DELETED_TEXT else post.selftext,
        submission_author=post.author,
        ancestors=_ancestors(parent, comments, exclusions),
        target_author=parent.author if parent else None,
        target_body=parent.body if parent else None,
    )
    return Pair(post.fullname, row.fullname, context, row.body)


def _ancestors(
    parent: CommentRow | None, comments: Mapping[str, CommentRow], exclusions: _Exclusions
) -> tuple[ContextComment, ...]:
    """The usable comments above ``parent``, oldest first; unusable ones are left out."""
    chain: list[ContextComment] = []
    above = comments.get(parent.parent_fullname) if parent else None
    while above is not None and len(chain) < MAX_ANCESTORS:
        if exclusions.reason(above.author, above.body, above) is None:
            chain.append(ContextComment(above.author, above.body))
        above = comments.get(above.parent_fullname)
    return tuple(reversed(chain))


def _deduplicate(pairs: Sequence[Pair], dropped: Counter[str]) -> list[Pair]:
    """The first of pairs with the same reply to the same text (reposts, double posts)."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for pair in pairs:
        answered = pair.context.target_body or f"{pair.context.title}\n{pair.context.selftext}"
        key = (_fingerprint(pair.reply), _fingerprint(answered))
        if key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(key)
        unique.append(pair)
    return unique


def _fingerprint(text: str) -> str:
    return normalize_whitespace(clean_reddit_text(text)).lower()


def split_by_thread(
    pairs: Sequence[Pair], validation_fraction: float, seed: int = 0
) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs; a thread's pairs all land on the same side.

    Threads are ordered by a seeded hash, so the split is stable as the store grows: a new
    thread never moves an old one to the other side.
    """
    threads = sorted({p.thread for p in pairs}, key=lambda t: _thread_rank(t, seed))
    wanted = math.ceil(len(threads) * validation_fraction) if validation_fraction > 0 else 0
    held_out = set(threads[: min(wanted, len(threads) - 1)]) if len(threads) > 1 else set()
    train = [p for p in pairs if p.thread not in held_out]
    return train, [p for p in pairs if p.thread in held_out]


def _thread_rank(thread: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{thread}".encode()).hexdigest()


# --------------------------------------------------------------------------- files


def write_jsonl(records: Iterable[Mapping[str, Any]], path: Path) -> int:
    """Write records as JSON lines (atomically: a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    partial.replace(path)
    return count


def read_dataset(path: Path, subreddit: str) -> Dataset:
    """A dataset written by ``write_jsonl(dataset.records(...))``: the frozen data of a run."""
    splits: dict[str, list[Pair]] = {TRAIN: [], VALIDATION: []}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            splits[record["split"]].append(Pair.from_json(record))
    return Dataset(subreddit, tuple(splits[TRAIN]), tuple(splits[VALIDATION]))


# --------------------------------------------------------------------------- from the store


def require_training_allowed(settings: Any, subreddit: str) -> dict[str, Any]:
    """Refuse a subreddit whose table does not say ``training_allowed = true``.

    Reddit's Data API terms forbid training on users' content without the rights holders'
    permission; the operator asserts it per subreddit. Returns what the model card records.
    """
    name = subreddit.removeprefix("r/")
    table = settings.subreddit(name)
    if table is None or not table.training_allowed:
        where = "its [[subreddits]] table" if table else f'a [[subreddits]] table name = "{name}"'
        raise ConfigError(
            f"r/{name}: training on its content is not allowed: set training_allowed = true in "
            f"{where}, only if the subreddit's moderators (or Reddit) gave permission"
        )
    source = "[[subreddits]] training_allowed = true, asserted by the operator"
    return {"training_allowed": True, "subreddit": table.name, "source": source}


def purged_pairs(session: Session, pairs: Iterable[Pair]) -> list[str]:
    """The ``reply_id`` of each pair holding text purged from the store since it was built
    (deleted on Reddit since): its reply, its thread, or a comment of the chain above it."""
    pairs = list(pairs)
    subreddits = {p.context.subreddit.lower() for p in pairs}
    query = select(CommentRow.fullname, CommentRow.parent_fullname, CommentRow.purged_at).where(
        func.lower(CommentRow.subreddit).in_(subreddits)
    )
    parents, purged = {}, set()
    for fullname, parent, purged_at in session.execute(query):
        parents[fullname] = parent
        if purged_at is not None:
            purged.add(fullname)
    threads = select(SubmissionRow.fullname).where(SubmissionRow.purged_at.is_not(None))
    purged.update(
        session.scalars(threads.where(SubmissionRow.fullname.in_({p.thread for p in pairs})))
    )
    found = []
    for pair in pairs:
        chain, name = [], pair.reply_id  # up to the thread: a top comment's parent is the t3
        while name is not None and name not in chain:
            chain.append(name)
            name = parents.get(name)
        if purged.intersection(chain):
            found.append(pair.reply_id)
    return found


def store_purged_pairs(settings: Any, dataset: Dataset) -> list[str]:
    """``purged_pairs`` of ``dataset``, read from the configured store (read-only)."""
    from redditbot.store.engine import make_engine, session_factory
    from redditbot.store.migrate import require_current_schema

    engine = make_engine(settings.database.url, read_only=True)
    try:
        require_current_schema(engine)
        with session_factory(engine)() as session:
            return purged_pairs(session, (*dataset.train, *dataset.validation))
    finally:
        engine.dispose()


def load_store_dataset(
    settings: Any, subreddit: str, *, validation_fraction: float, seed: int
) -> Dataset:
    """``subreddit``'s pairs, read from the configured store on a read-only connection, at the
    current schema revision."""
    from redditbot.store.engine import make_engine, session_factory
    from redditbot.store.migrate import require_current_schema

    engine = make_engine(settings.database.url, read_only=True)
    try:
        require_current_schema(engine)
        with session_factory(engine)() as session:
            return build_dataset(
                session,
                subreddit.removeprefix("r/"),
                bot_usernames=[settings.reddit.username],
                validation_fraction=validation_fraction,
                seed=seed,
            )
    finally:
        engine.dispose()
