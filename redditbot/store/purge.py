"""Purging text the store holds of items gone from Reddit (deleted, removed, author deleted).

Reddit's Data API terms: content deleted by its author or removed from Reddit, and the data of
deleted accounts, must be deleted from stored copies too. ``purge`` blanks the rows' text and
author, marks them ``purged_at`` (exports, training and few-shot skip such rows), and then
scrubs every other copy the store can hold, table by table:

- every ``Text`` and ``JSON`` column of every table (``_copy_columns``: future tables are covered
  without naming them) loses each line of the purged text (raw and as prompts quote it) and,
  for a deleted account, its name wherever it stands as a name;
- rows tied to a purged item (its reply job and that job's generations, verdicts, posted reply
  and events; its selection decision; events naming it) also lose the item's author name and any
  quoted piece of the purged text (moderation reasons quote up to 60 characters of it), and the
  prompt of a job that answered the item is dropped whole;
- the title's slug in the permalinks of a purged thread becomes ``_`` (Reddit takes any slug);
- the opt-out of a deleted account is forgotten (Reddit never gives its name out again).

Other users' comments and posts are theirs, still on Reddit: a quote of the purged text inside
them is not touched (it goes when they delete it). The bot's own stored comments and posts are
scrubbed like any copy and marked ``purged_at`` so a later refresh does not store the quote again.
No commit here: the caller owns the transaction.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Table,
    Text,
    cast,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from redditbot.domain import Comment, Submission
from redditbot.generation.text import clean_reddit_text
from redditbot.store.models import (
    Base,
    CommentRow,
    Event,
    GenerationRow,
    OptOut,
    PostJob,
    ReplyJob,
    SubmissionRow,
)

PURGED = "[purged]"
PURGED_PROMPT = "[purged: the comment this answered was deleted on Reddit]"
DELETED_NAME = "[deleted]"
MIN_FRAGMENT = 8  # shorter lines are too common to find copies of by text
TERMS_A_QUERY = 200  # LIKE conditions in one statement (SQLite's parser allows 1000 deep)
# What Reddit (and the purge) put in place of gone text and names: never a copy to look for.
PLACEHOLDERS = frozenset({"[deleted]", "[removed]", "[ removed by reddit ]", PURGED})
# Text columns that name things rather than hold text (model names, where Reddit put it).
NOT_COPIES = frozenset({"generations.model", "post_jobs.model", "submissions.url"})
_NAME_CHARS = r"A-Za-z0-9_-"  # what a Reddit username is made of
_QUOTED = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")
_PERMALINK = re.compile(r"(/comments/([a-z0-9]+)/)([^/?#\s\"']+)")


@dataclass
class PurgeCounts:
    """What was purged (recorded in the event's ``data``)."""

    checked: int = 0
    requests: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    comments: int = 0
    submissions: int = 0
    copies: Counter[str] = field(default_factory=Counter)  # {table: rows scrubbed}
    opt_outs: int = 0

    @property
    def rows(self) -> int:
        return self.comments + self.submissions

    @property
    def generations(self) -> int:
        return self.copies["generations"]

    @property
    def post_jobs(self) -> int:
        return self.copies["post_jobs"]

    def data(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "requests": self.requests,
            "reasons": dict(self.reasons),
            "comments": self.comments,
            "submissions": self.submissions,
            "generations": self.generations,
            "post_jobs": self.post_jobs,
            "copies": dict(sorted(self.copies.items())),
            "opt_outs": self.opt_outs,
        }

    def summary(self) -> str:
        why = ", ".join(f"{reason} {count}" for reason, count in sorted(self.reasons.items()))
        copies = ", ".join(f"{table} {n}" for table, n in sorted(self.copies.items()))
        return (
            f"checked {self.checked} items in {self.requests} requests; purged "
            f"{self.comments} comments, {self.submissions} submissions ({why or 'none'}), "
            f"{self.generations} prompts, {self.post_jobs} post prompts; "
            f"copies scrubbed: {copies or 'none'}; {self.opt_outs} opt-outs of deleted accounts"
        )


def record(session: Session, counts: PurgeCounts, *, now: datetime, account: str) -> None:
    """One ``purge`` event with the counts (the audit trail of what was purged, never the text)."""
    session.add(
        Event(kind="purge", message=counts.summary(), at=now, account=account, data=counts.data())
    )


def gone_reason(item: Submission | Comment) -> str | None:
    """Why an item Reddit returned must be purged, or None while it stands."""
    if item.deleted:
        return "deleted"
    if item.removed:
        return "removed"
    if item.author in (None, "[deleted]"):
        return "account_deleted"
    return None


def purge(
    session: Session, gone: dict[str, str], now: datetime, counts: PurgeCounts | None = None
) -> PurgeCounts:
    """Purge the stored ``gone`` items ({fullname: reason}) not purged yet, everything their
    deleted authors wrote, and every copy of their text and of the deleted authors' names."""
    run = counts or PurgeCounts()
    rows = _rows(session, gone)
    accounts = {
        r.author
        for r in rows
        if gone[r.fullname] == "account_deleted"
        and r.author
        and r.author.lower() not in PLACEHOLDERS
    }
    rows += [r for r in _rows_by(session, accounts) if r.fullname not in gone]
    if not rows:
        return run
    what = Purged.of(rows, accounts)  # before the text is blanked
    for row in rows:
        reason = gone.get(row.fullname, "account_deleted")
        run.reasons[reason] += 1
        _blank(row, reason, now)
        if isinstance(row, CommentRow):
            run.comments += 1
        else:
            run.submissions += 1
    session.flush()  # the blanked rows are not copies to find
    _scrub_copies(session, what, run, now)
    if accounts:
        lowered = [a.lower() for a in accounts]
        forgotten = session.execute(delete(OptOut).where(func.lower(OptOut.username).in_(lowered)))
        run.opt_outs += forgotten.rowcount or 0
    return run


# --------------------------------------------------------------------------- what is purged


@dataclass
class Purged:
    """What one purge removes, gathered before the rows are blanked."""

    targets: set[str]  # the purged items' fullnames
    threads: set[str]  # the purged submissions' fullnames
    fragments: list[str]  # their text lines (raw and cleaned), longest first
    probes: list[str]  # per item its longest raw and cleaned line: finds the rows with copies
    texts: list[str]  # their whole texts, casefolded, for quoted pieces
    accounts: set[str]  # deleted accounts: their names go everywhere
    authors: set[str]  # every purged item's author: their names go from the rows tied to it
    slugs: dict[str, str]  # {base-36 id of a purged thread: its permalink's slug}

    @classmethod
    def of(cls, rows: Sequence[CommentRow | SubmissionRow], accounts: set[str]) -> Purged:
        found = [text_fragments(row) for row in rows]
        probes = {line for row in rows for line in _probes(row)}
        texts = [_folded(t) for row in rows for t in _texts(row) for t in (t, clean_reddit_text(t))]
        slugs = {}
        for row in rows:
            if isinstance(row, SubmissionRow):
                match = _PERMALINK.search(row.permalink or "")
                if match and match.group(3) != "_":
                    slugs[match.group(2)] = match.group(3)
        return cls(
            targets={r.fullname for r in rows},
            threads={r.fullname for r in rows if isinstance(r, SubmissionRow)},
            fragments=sorted({f for fs in found for f in fs}, key=len, reverse=True),
            probes=sorted(probes, key=len, reverse=True),
            texts=[t for t in texts if t],
            accounts=set(accounts),
            authors={r.author for r in rows if r.author and r.author.lower() not in PLACEHOLDERS},
            slugs=slugs,
        )

    def patterns(self, *, slugs: bool = True) -> list[str]:
        """What a column holding a copy contains, as it is stored (names are matched apart)."""
        found = set(self.probes)
        found |= {json.dumps(p)[1:-1] for p in self.probes}  # as JSON columns hold it
        if slugs:
            found |= {f"/comments/{i}/{slug}" for i, slug in self.slugs.items()}
        return sorted(found)

    def scrub(self, text: str, *, tied: bool) -> str:
        """``text`` without the purged lines, the deleted accounts' names and the purged threads'
        slugs; when ``tied`` to a purged item, without its author's name and quoted pieces of it."""
        text = redact(text, self.fragments)
        names = self.accounts | (self.authors if tied else set())
        for name in sorted(names, key=len, reverse=True):
            text = _name_pattern(name).sub(DELETED_NAME, text)
        text = _QUOTED.sub(lambda m: self._quoted(m.group(0), tied), text)
        return _PERMALINK.sub(self._slug, text)

    def _quoted(self, quoted: str, tied: bool) -> str:
        try:
            inner = ast.literal_eval(quoted)
        except (ValueError, SyntaxError):
            inner = quoted[1:-1]
        folded = _folded(str(inner))
        if not folded or (not tied and len(folded) < MIN_FRAGMENT):
            return quoted
        return repr(PURGED) if any(folded in t for t in self.texts) else quoted

    def _slug(self, match: re.Match[str]) -> str:
        if self.slugs.get(match.group(2)) == match.group(3):
            return match.group(1) + "_"
        return match.group(0)


def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?i)(?<![{_NAME_CHARS}]){re.escape(name)}(?![{_NAME_CHARS}])")


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def _texts(row: CommentRow | SubmissionRow) -> list[str]:
    texts = [row.body] if isinstance(row, CommentRow) else [row.title, row.selftext]
    return [t for t in texts if t and t.strip().lower() not in PLACEHOLDERS]


def _probes(row: CommentRow | SubmissionRow) -> Iterator[str]:
    for variant in (lambda t: t, clean_reddit_text):
        lines = [line.strip() for t in _texts(row) if t for line in variant(t).split("\n")]
        lines = [line for line in lines if len(line) >= MIN_FRAGMENT]
        if lines:
            yield max(lines, key=len)


def text_fragments(row: CommentRow | SubmissionRow) -> list[str]:
    """The row's text lines as they may appear in a stored prompt (raw and cleaned)."""
    variants = [v for t in _texts(row) if t for v in (t, clean_reddit_text(t))]
    lines = {line.strip() for v in variants for line in v.split("\n")}
    return sorted((line for line in lines if len(line) >= MIN_FRAGMENT), key=len, reverse=True)


def redact(text: str, fragments: Sequence[str]) -> str:
    """``text`` with every fragment replaced by ``[purged]`` (longest first)."""
    for fragment in fragments:
        text = text.replace(fragment, PURGED)
    return text


# --------------------------------------------------------------------------- the purged rows


def _rows(session: Session, names: Iterable[str]) -> list[CommentRow | SubmissionRow]:
    names = list(names)
    found: list[CommentRow | SubmissionRow] = []
    for model in (CommentRow, SubmissionRow):
        query = select(model).where(model.fullname.in_(names), model.purged_at.is_(None))
        found += session.scalars(query)
    return found


def _rows_by(session: Session, authors: set[str]) -> list[CommentRow | SubmissionRow]:
    if not authors:
        return []
    found: list[CommentRow | SubmissionRow] = []
    for model in (CommentRow, SubmissionRow):
        query = select(model).where(model.author.in_(authors), model.purged_at.is_(None))
        found += session.scalars(query)
    return found


def _blank(row: CommentRow | SubmissionRow, reason: str, now: datetime) -> None:
    marker = "[removed]" if reason == "removed" else "[deleted]"
    row.author, row.purged_at = None, now
    if reason == "removed":
        row.removed = True
    else:
        row.deleted = True
    if isinstance(row, CommentRow):
        row.body = marker
    else:
        row.title, row.selftext, row.url = marker, "", ""


# --------------------------------------------------------------------------- the copies


def _copy_columns(table: Table) -> list[Column[Any]]:
    """The columns of ``table`` that can hold a copy of someone's text or name."""
    return [
        column
        for column in table.columns
        if isinstance(column.type, Text | JSON) and f"{table.name}.{column.name}" not in NOT_COPIES
    ]


def _scrub_copies(session: Session, what: Purged, run: PurgeCounts, now: datetime) -> None:
    """Scrub every table's copies: the rows tied to a purged item and every row holding one."""
    quoting = _ids(
        _matching(
            session, select(GenerationRow.job_id), _terms(GenerationRow.prompt, what, names=False)
        )
    )
    in_thread = or_(ReplyJob.target_fullname.in_(what.targets),
                    ReplyJob.link_fullname.in_(what.threads))  # fmt: skip
    ties = Ties(
        targets=what.targets,
        answered=set(
            session.scalars(select(ReplyJob.id).where(ReplyJob.target_fullname.in_(what.targets)))
        ),
        replies=set(session.scalars(select(ReplyJob.id).where(in_thread))) | quoting,
        posts=_ids(
            _matching(session, select(PostJob.id), _terms(PostJob.prompt, what, names=False))
        ),
    )
    for table in Base.metadata.sorted_tables:
        columns = _copy_columns(table)
        if columns:
            run.copies[table.name] += _scrub_table(session, table, columns, what, ties, now)
    run.copies = +run.copies  # tables without copies are left out of the counts
    session.expire_all()  # the rows were changed under the session's objects (all flushed)


@dataclass(frozen=True)
class Ties:
    """What ties a row to a purged item."""

    targets: set[str]  # the purged items
    answered: set[int]  # reply jobs that answered one
    replies: set[int]  # reply jobs that answered one, in a purged thread, or quoted one
    posts: set[int]  # post jobs whose prompt quoted one

    def conditions(self, table: Table) -> list[ColumnElement[bool]]:
        c, found = table.c, []
        if table.name == "reply_jobs":
            found.append(c.id.in_(self.replies))
        if table.name == "post_jobs":
            found.append(c.id.in_(self.posts))
        for name in ("fullname", "target_fullname"):
            if name in c and table.name not in ("comments", "submissions"):
                found.append(c[name].in_(self.targets))
        if "job_id" in c:  # an event's job_id may name a post job: scrubbed a little too much
            found.append(c.job_id.in_(self.replies))
        return found


def _terms(column: Any, what: Purged, *, names: bool = True) -> list[ColumnElement[bool]]:
    """``column`` holds a copy: one of the probes, a purged slug, a deleted account's name (or
    with ``names=False``: a copy of the purged text itself), one condition each."""
    text = cast(column, Text)
    found = [text.contains(p, autoescape=True) for p in what.patterns(slugs=names)]
    if names:
        found += [func.lower(text).contains(n.lower(), autoescape=True) for n in what.accounts]
    return found


def _matching(session: Session, query: Any, terms: Sequence[ColumnElement[bool]]) -> set[Any]:
    """``query``'s rows (as tuples) that meet any of ``terms``, asked ``TERMS_A_QUERY`` at a
    time (SQLite parses an OR of n terms n deep and refuses more than 1000)."""
    found: set[Any] = set()
    for start in range(0, len(terms), TERMS_A_QUERY):
        chunk = or_(*terms[start : start + TERMS_A_QUERY])
        found.update(tuple(row) for row in session.execute(query.where(chunk)))
    return found


def _ids(found: set[Any]) -> set[int]:
    return {row[0] for row in found}


def _scrub_table(
    session: Session, table: Table, columns: list[Column[Any]], what: Purged, ties: Ties, now
) -> int:
    key = list(table.primary_key.columns)
    keys = select(*key)
    own = table.name in ("comments", "submissions")
    # Others' words are theirs (still on Reddit): in their rows only the slugs go; the bot's own
    # rows are scrubbed like any copy.
    holds = [t for column in columns for t in _terms(column, what)]
    found = _matching(session, keys.where(table.c.bot_account.is_not(None)) if own else keys, holds)
    if own:
        found |= _matching(session, keys, _terms(table.c.permalink, what))
    for condition in ties.conditions(table):
        found.update(tuple(row) for row in session.execute(keys.where(condition)))
    ties_by = [table.c[n] for n in ("id", "fullname", "target_fullname", "job_id") if n in table.c]
    extra = [table.c.bot_account] if own else []
    wanted = list({c.name: c for c in [*key, *columns, *ties_by, *extra]}.values())
    changed = 0
    for names in sorted(found, key=str):
        where = [column == name for column, name in zip(key, names, strict=True)]
        values = session.execute(select(*wanted).where(*where)).one()._mapping
        scrub = columns if not own or values["bot_account"] else [table.c.permalink]
        changes = _scrubbed(table, scrub, values, what, ties)
        if not changes:
            continue
        if own and set(changes) - {"permalink"}:
            changes["purged_at"] = now  # the bot's own text: a refresh must not store it again
        session.execute(table.update().where(*where).values(**changes))
        changed += 1
    return changed


def _tied(table: Table, values: Any, ties: Ties) -> bool:
    if table.name in ("comments", "submissions"):
        return False
    if table.name == "reply_jobs" and values["id"] in ties.replies:
        return True
    if table.name == "post_jobs" and values["id"] in ties.posts:
        return True
    if any(values.get(n) in ties.targets for n in ("fullname", "target_fullname")):
        return True
    return values.get("job_id") in ties.replies


def _scrubbed(table: Table, columns, values, what: Purged, ties: Ties) -> dict[str, Any]:
    """{column: scrubbed value} of one row, for the columns that changed."""
    tied = _tied(table, values, ties)
    changes: dict[str, Any] = {}
    for column in columns:
        value = values[column.name]
        if value is None:
            continue
        answered = table.name == "generations" and values["job_id"] in ties.answered
        if answered and column.name == "prompt":
            new: Any = PURGED_PROMPT  # the job answered a purged item: its prompt was all about it
        else:
            new = _scrub_value(value, what, tied)
        if new != value:
            changes[column.name] = new
    return changes


def _scrub_value(value: Any, what: Purged, tied: bool) -> Any:
    if isinstance(value, str):
        return what.scrub(value, tied=tied)
    if isinstance(value, list):
        return [_scrub_value(v, what, tied) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_value(v, what, tied) for k, v in value.items()}
    return value
