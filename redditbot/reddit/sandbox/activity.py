"""Simulated users: new threads, comments and mentions of the bot at configurable rates.

``step(seconds)`` creates exactly the activity due in that span (rates accumulate, so
0.5 comments/s over 3 s gives 1, then 2 on the next 3 s step), drawing text and targets from
the seeded ``rng``: the same seed and steps always give the same world. ``start()`` runs the
same thing on a background thread for ``sandbox serve`` and the demo.
"""

from __future__ import annotations

import random
import threading
import time

from redditbot.reddit.sandbox.corpus import DEMO_BOT
from redditbot.reddit.sandbox.corpus.compose import MENTIONS, REPLIES, Composer
from redditbot.reddit.sandbox.corpus.templates import SUBREDDITS
from redditbot.reddit.sandbox.world import Post, Reply, World

RECENT = 60  # comments target one of the newest threads/comments, like live traffic does


class ActivityGenerator:
    """Adds new threads, comments and bot mentions to ``world`` as simulated time passes."""

    def __init__(
        self,
        world: World,
        threads_per_s: float = 0.02,
        comments_per_s: float = 0.5,
        mentions_per_s: float = 0.02,
        bot_name: str = DEMO_BOT,
        rng: random.Random | None = None,
    ) -> None:
        self.world = world
        self.rates = {"thread": threads_per_s, "comment": comments_per_s, "mention": mentions_per_s}
        self.bot_name = bot_name
        self.rng = rng or random.Random(0)
        self._carry = dict.fromkeys(self.rates, 0.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.created: list[str] = []  # fullnames, in creation order

    def step(self, seconds: float) -> list[str]:
        """Create the activity due in ``seconds``; returns the new fullnames."""
        new: list[str] = []
        for kind, rate in self.rates.items():
            due = self._carry[kind] + rate * seconds
            count = int(due)
            self._carry[kind] = due - count
            new.extend(self._make(kind) for _ in range(count))
        self.created.extend(new)
        return new

    def _make(self, kind: str) -> str:
        if kind == "thread":
            return self._new_thread()
        if kind == "mention":
            return self._new_comment(mention=True)
        return self._new_comment(mention=False)

    def _users(self) -> list[str]:
        with self.world.locked():
            names = [u.name for u in self.world.users.values()]
        return sorted(n for n in names if n.lower() != self.bot_name.lower())

    def _new_thread(self) -> str:
        name = self.rng.choice(sorted(SUBREDDITS))
        composer = Composer(self.rng, SUBREDDITS[name], self._users())
        text = composer.thread(self.rng.choice(SUBREDDITS[name]["threads"]), 0, 0)
        post_id = self.world.add_submission(name, text["author"], text["title"], text["selftext"])
        return f"t3_{post_id}"

    def _new_comment(self, *, mention: bool) -> str:
        target = self._target()
        if target is None:
            return self._new_thread()
        author = self.rng.choice([u for u in self._users() if u != target.author] or ["someone"])
        body = self._comment_text(target)
        if mention:
            body = f"{body}\n\n{self.rng.choice(MENTIONS).format(bot=self.bot_name)}"
        return f"t1_{self.world.add_comment(target.fullname, author, body)}"

    def _comment_text(self, target: Post | Reply) -> str:
        sub = SUBREDDITS.get(target.subreddit)
        if sub is None or (isinstance(target, Reply) and self.rng.random() < 0.5):
            return self.rng.choice(REPLIES)
        return Composer(self.rng, sub, []).fill(self.rng.choice(sub["comments"]))

    def _target(self) -> Post | Reply | None:
        open_items = [
            t
            for t in self.world.submissions()[:RECENT] + self.world.comments()[:RECENT]
            if not (t.locked or t.archived or t.deleted or t.removed)
        ]
        open_items.sort(key=lambda t: t.seq)
        return self.rng.choice(open_items) if open_items else None

    # ------------------------------------------------------------------ background mode

    def start(self, interval_s: float = 1.0) -> None:
        """Run ``step`` every ``interval_s`` of real time on a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval_s,), name="sandbox-activity", daemon=True
        )
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        last = time.monotonic()
        while not self._stop.wait(interval_s):
            now = time.monotonic()
            self.step(now - last)
            last = now

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
