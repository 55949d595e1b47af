"""The sandbox's state: users, subreddits, submissions, comments and inboxes.

Everything is in memory and guarded by one re-entrant lock, so the HTTP threads, the activity
generator and a test can all touch the world at once. Items are kept in creation order, which is
what Reddit's ``new`` listings and cursors follow.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Clock = Callable[[], float]

_MENTION = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def to_base36(number: int) -> str:
    """Reddit ids are base-36 numbers."""
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if number == 0:
            return digits


@dataclass
class User:
    name: str
    password: str
    id: str
    created_utc: float
    comment_karma: int = 1
    link_karma: int = 1


@dataclass
class Subreddit:
    name: str
    id: str
    title: str = ""
    public_description: str = ""
    subscribers: int = 1000
    private: bool = False
    banned: set[str] = field(default_factory=set)
    allow_selfs: bool = True  # False: text posts get NO_SELFS
    restricted: bool = False  # True: only ``approved`` users may post (SUBREDDIT_NOTALLOWED)
    approved: set[str] = field(default_factory=set)
    flair_required: bool = False  # True: posts without flair get SUBMIT_VALIDATION_FLAIR_REQUIRED


@dataclass
class Post:
    """A submission (t3)."""

    id: str
    seq: int
    subreddit: str
    author: str
    title: str
    selftext: str
    created_utc: float
    url: str = ""
    score: int = 1
    locked: bool = False
    archived: bool = False
    over_18: bool = False
    stickied: bool = False
    distinguished: str | None = None
    deleted: bool = False
    removed: bool = False
    flair_id: str | None = None
    flair_text: str | None = None

    @property
    def fullname(self) -> str:
        return f"t3_{self.id}"


@dataclass
class Reply:
    """A comment (t1)."""

    id: str
    seq: int
    link_id: str
    parent_id: str
    subreddit: str
    author: str
    body: str
    created_utc: float
    depth: int
    score: int = 1
    locked: bool = False
    archived: bool = False
    stickied: bool = False
    distinguished: str | None = None
    deleted: bool = False
    removed: bool = False

    @property
    def fullname(self) -> str:
        return f"t1_{self.id}"


Thing = Post | Reply


@dataclass
class InboxEntry:
    """A comment in someone's inbox: ``kind`` is username_mention, comment_reply or post_reply."""

    seq: int
    comment: str  # fullname of the comment
    kind: str
    new: bool = True


class World:
    """Subreddits, users and their posts; ``World.seeded()`` loads the bundled corpus."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or time.time
        self._mutex = threading.RLock()
        self.users: dict[str, User] = {}
        self.subreddits: dict[str, Subreddit] = {}
        self.things: dict[str, Thing] = {}
        self.children: dict[str, list[str]] = {}  # parent fullname -> child comment fullnames
        self.inboxes: dict[str, list[InboxEntry]] = {}
        self._seq = 0

    @classmethod
    def seeded(cls, clock: Clock | None = None) -> World:
        """A world filled with the bundled corpus (subreddits, users, threads)."""
        from redditbot.reddit.sandbox.corpus import load_corpus

        world = cls(clock)
        load_corpus().populate(world)
        return world

    @contextmanager
    def locked(self) -> Iterator[World]:
        with self._mutex:
            yield self

    # ------------------------------------------------------------------ building

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_user(self, name: str, password: str = "password") -> User:
        """Register an account (idempotent: returns the existing one)."""
        with self._mutex:
            key = name.lower()
            if key not in self.users:
                uid = to_base36(1_000_000 + len(self.users))
                self.users[key] = User(name, password, uid, self.clock() - 86400 * 400)
            return self.users[key]

    def add_subreddit(self, name: str, title: str = "", description: str = "", **kw) -> Subreddit:
        """Create a subreddit; extra keywords set ``subscribers`` or ``private``."""
        with self._mutex:
            key = name.lower()
            if key not in self.subreddits:
                sid = to_base36(2_000_000 + len(self.subreddits))
                self.subreddits[key] = Subreddit(name, sid, title or name, description, **kw)
            return self.subreddits[key]

    def add_submission(
        self,
        subreddit: str,
        author: str,
        title: str,
        selftext: str = "",
        *,
        created_utc: float | None = None,
        **flags: object,
    ) -> str:
        """Post a thread and return its id (without ``t3_``)."""
        with self._mutex:
            sub = self.add_subreddit(subreddit)
            self.add_user(author)
            seq = self._next_seq()
            post = Post(
                id=to_base36(36**5 + seq),
                seq=seq,
                subreddit=sub.name,
                author=author,
                title=title,
                selftext=selftext,
                created_utc=self._created(created_utc),
                **flags,  # type: ignore[arg-type]
            )
            self.things[post.fullname] = post
            return post.id

    def add_comment(
        self,
        parent_fullname: str,
        author: str,
        body: str,
        *,
        created_utc: float | None = None,
        **flags: object,
    ) -> str:
        """Reply to a submission or comment, notify inboxes, and return the new id."""
        with self._mutex:
            parent = self.get(parent_fullname)
            self.add_user(author)
            seq = self._next_seq()
            link_id = parent.fullname if isinstance(parent, Post) else parent.link_id
            depth = 0 if isinstance(parent, Post) else parent.depth + 1
            reply = Reply(
                id=to_base36(36**6 + seq),
                seq=seq,
                link_id=link_id,
                parent_id=parent.fullname,
                subreddit=parent.subreddit,
                author=author,
                body=body,
                created_utc=self._created(created_utc),
                depth=depth,
                **flags,  # type: ignore[arg-type]
            )
            self.things[reply.fullname] = reply
            self.children.setdefault(parent.fullname, []).append(reply.fullname)
            self._notify(reply, parent)
            return reply.id

    def mention(self, bot_name: str, parent_fullname: str, author: str, text: str = "") -> str:
        """Post a comment that summons ``u/bot_name`` under ``parent_fullname``; returns its id."""
        body = f"u/{bot_name} {text}".strip() if f"u/{bot_name}" not in text else text
        return self.add_comment(parent_fullname, author, body)

    def _created(self, created_utc: float | None) -> float:
        return float(round(self.clock() if created_utc is None else created_utc))

    def _notify(self, reply: Reply, parent: Thing) -> None:
        if parent.author.lower() != reply.author.lower() and not parent.deleted:
            kind = "post_reply" if isinstance(parent, Post) else "comment_reply"
            self._deliver(parent.author, reply, kind)
        for name in {m.lower() for m in _MENTION.findall(reply.body)}:
            if name in self.users and name not in (reply.author.lower(), parent.author.lower()):
                self._deliver(self.users[name].name, reply, "username_mention")

    def _deliver(self, user: str, reply: Reply, kind: str) -> None:
        entry = InboxEntry(self._next_seq(), reply.fullname, kind)
        self.inboxes.setdefault(user.lower(), []).append(entry)

    # ------------------------------------------------------------------ moderation / state

    def lock(self, fullname: str) -> None:
        """Lock a thread or comment: replies get THREAD_LOCKED."""
        with self._mutex:
            self.get(fullname).locked = True

    def archive(self, fullname: str) -> None:
        """Archive a thread (and its comments): replies get TOO_OLD."""
        with self._mutex:
            thing = self.get(fullname)
            thing.archived = True
            for item in self.descendants(fullname):
                item.archived = True

    def delete(self, fullname: str) -> None:
        """The author deletes the item: it shows as ``[deleted]``."""
        with self._mutex:
            self.get(fullname).deleted = True

    def remove(self, fullname: str) -> None:
        """A moderator removes the item: it shows as ``[removed]``."""
        with self._mutex:
            self.get(fullname).removed = True

    def delete_account(self, name: str) -> None:
        """The user deletes their account: it cannot log in, and what it wrote stays readable
        with ``"author": "[deleted]"`` (as on Reddit: deleting an account keeps its posts)."""
        with self._mutex:
            self.users.pop(name.lower(), None)
            for thing in self.things.values():
                if thing.author.lower() == name.lower():
                    thing.author = "[deleted]"

    def ban(self, user: str, subreddit: str) -> None:
        """Ban ``user`` from ``subreddit``: their comments there get HTTP 403."""
        with self._mutex:
            self.add_subreddit(subreddit).banned.add(user.lower())

    # ------------------------------------------------------------------ queries

    def get(self, fullname: str) -> Thing:
        """The submission or comment with this fullname (KeyError when unknown)."""
        with self._mutex:
            return self.things[fullname]

    def find(self, fullname: str) -> Thing | None:
        with self._mutex:
            return self.things.get(fullname)

    def replies_to(self, fullname: str) -> list[Reply]:
        """Direct replies, oldest first."""
        with self._mutex:
            return [self.things[c] for c in self.children.get(fullname, [])]  # type: ignore[misc]

    def descendants(self, fullname: str) -> list[Reply]:
        """Every comment below ``fullname``, depth first, oldest first."""
        with self._mutex:
            found: list[Reply] = []
            for reply in self.replies_to(fullname):
                found.append(reply)
                found.extend(self.descendants(reply.fullname))
            return found

    def submissions(self, subreddits: set[str] | None = None) -> list[Post]:
        """Submissions of those subreddits (lower-case names; None = all), newest first."""
        return self._newest(Post, subreddits)

    def comments(self, subreddits: set[str] | None = None) -> list[Reply]:
        """Comments of those subreddits (lower-case names; None = all), newest first."""
        return self._newest(Reply, subreddits)

    def _newest(self, kind: type, subreddits: set[str] | None) -> list:
        with self._mutex:
            items = [
                t
                for t in self.things.values()
                if isinstance(t, kind) and (subreddits is None or t.subreddit.lower() in subreddits)
            ]
            return sorted(items, key=lambda t: t.seq, reverse=True)

    def inbox(self, user: str) -> list[InboxEntry]:
        """The user's inbox entries, newest first."""
        with self._mutex:
            return sorted(self.inboxes.get(user.lower(), []), key=lambda e: e.seq, reverse=True)

    def comments_by(self, user: str) -> list[Reply]:
        """A user's comments that are not deleted, newest first."""
        with self._mutex:
            return [
                c for c in self.comments() if c.author.lower() == user.lower() and not c.deleted
            ]

    def submissions_by(self, user: str) -> list[Post]:
        """A user's submissions that are not deleted, newest first."""
        with self._mutex:
            return [
                p for p in self.submissions() if p.author.lower() == user.lower() and not p.deleted
            ]

    def user(self, name: str) -> User | None:
        with self._mutex:
            return self.users.get(name.lower())

    def subreddit(self, name: str) -> Subreddit | None:
        with self._mutex:
            return self.subreddits.get(name.lower())


class ManualClock:
    """A clock that only moves when told to: inject it for token expiry and rate windows."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
