"""Compose corpus threads from the hand-written templates; used by ``generate.py`` and by the
activity generator. It only picks, fills and nests sentences written for this project, so the
same seed always gives the same threads.
"""

from __future__ import annotations

import random
from typing import Any

from redditbot.reddit.sandbox.corpus.templates import SUBREDDITS

BOT = "sandbox_bot"  # the demo account (DEMO_BOT), named here to avoid an import cycle

REPLIES = [
    "This is the answer. I had the exact same problem last month.",
    "Can you explain that a bit more? I'm not sure I follow the second part.",
    "Wait, really? I've been doing it the other way for years.",
    "Not always true in my experience, but it's a good place to start.",
    "Thank you, this actually makes sense now.",
    "Came here to say this.",
    "Same here. Took me way too long to figure that out.",
    "Source? Genuinely curious, not trying to argue.",
    "I tried that and it didn't change much for me, but maybe I did it wrong.",
    "Adding to this: write it down somewhere, you'll forget otherwise.",
    "Ha, I learned this the hard way too.",
    "Respectfully disagree. It depends a lot on the situation.",
    "Saving this comment.",
    "Good point, I hadn't thought about that at all.",
    "Why does nobody mention this in the guides?",
]
OP_REPLIES = [
    "Thanks, I'll try that tonight and report back.",
    "Oh wow, that was it. Thank you!",
    "I think I'm already doing that, but I'll double check.",
    "Update: it worked. You're a lifesaver.",
    "Good to know, I'll keep that in mind.",
]
MENTIONS = [
    "u/{bot} what do you think?",
    "Maybe u/{bot} knows. Any thoughts?",
    "u/{bot} can you summarise the advice in this thread?",
]
NAME_PARTS = (
    [
        "quiet",
        "rusty",
        "sleepy",
        "grumpy",
        "lucky",
        "curious",
        "tidy",
        "salty",
        "spicy",
        "lazy",
        "brave",
        "witty",
        "humble",
        "cosmic",
        "frozen",
        "wild",
        "gentle",
        "loud",
        "tiny",
        "odd",
    ],
    [
        "otter",
        "fern",
        "kettle",
        "comet",
        "badger",
        "turnip",
        "walrus",
        "pixel",
        "heron",
        "mango",
        "parsnip",
        "nebula",
        "falcon",
        "teapot",
        "moss",
        "lemur",
        "anvil",
        "thistle",
        "gecko",
    ],
)


class Composer:
    """Deterministic text and tree maker for one subreddit."""

    def __init__(self, rng: random.Random, sub: dict[str, Any], users: list[str]) -> None:
        self.rng = rng
        self.sub = sub
        self.users = users
        self.values: dict[str, str] = {}
        self.unused: list[str] = []

    def fill(self, template: str) -> str:
        """Fill ``{slots}`` with this thread's values (new random ones outside a thread)."""
        values = {key: self.rng.choice(options) for key, options in self.sub["fills"].items()}
        return template.format(**{**values, **self.values})

    def thread(self, spec: dict[str, Any], age_s: int, size: int) -> dict[str, Any]:
        """A thread from ``spec`` (title, selftext, answers) with ``size`` top-level comments."""
        self.values = {k: self.rng.choice(v) for k, v in self.sub["fills"].items()}
        answers = self.rng.sample(spec["answers"], len(spec["answers"]))
        generic = self.rng.sample(self.sub["comments"], len(self.sub["comments"]))
        self.unused = answers + generic + self.rng.sample(REPLIES, len(REPLIES))
        author = self.rng.choice(self.users)
        thread = {
            "author": author,
            "title": self.fill(spec["title"]),
            "selftext": self.fill(spec["selftext"]),
            "age_s": age_s,
            "score": self.rng.randint(1, 900),
            "comments": [self.comment(author, age_s, 0, author) for _ in range(size)],
        }
        self.values = {}
        return thread

    def comment(self, op: str, parent_age: int, depth: int, parent: str = "") -> dict[str, Any]:
        """A comment by someone other than ``parent`` (its parent's author), with replies."""
        age = self.rng.randint(max(parent_age // 3, 1), max(parent_age - 30, 2))
        author = self.rng.choice([u for u in self.users if u not in (op, parent)])
        body = self.fill(self._take(top_level=depth == 0))
        if depth > 0 and parent != op and self.rng.random() < 0.25:
            author, body = op, self.rng.choice(OP_REPLIES)
        if self.rng.random() < 0.03:
            body = f"{body}\n\n{self.rng.choice(MENTIONS).format(bot=BOT)}"
        wanted = self.rng.choices([0, 1, 2, 3], weights=[62, 26, 9, 3])[0] if depth < 6 else 0
        replies = [self.comment(op, age, depth + 1, author) for _ in range(wanted)]
        return {
            "author": author,
            "body": body,
            "age_s": age,
            "score": self.rng.randint(-3, 400),
            "replies": replies,
        }

    def _take(self, *, top_level: bool) -> str:
        """Answers first at the top level, short reactions below; no repeats within a thread."""
        pool = self.unused if top_level else self.unused[::-1]
        if not pool:
            return self.rng.choice(REPLIES)
        text = pool[0]
        self.unused.remove(text)
        return text

    def long_chain(self, op: str, parent_age: int, length: int) -> dict[str, Any]:
        """A back-and-forth deeper than Reddit shows: it ends in "continue this thread"."""
        node: dict[str, Any] | None = None
        for step in range(length, 0, -1):
            author = [op, self.rng.choice(self.users)][step % 2]
            body = self.rng.choice(REPLIES + OP_REPLIES) if step > 1 else self.rng.choice(REPLIES)
            node = {
                "author": author,
                "body": body,
                "age_s": parent_age - 60 * step,
                "score": self.rng.randint(1, 40),
                "replies": [node] if node else [],
            }
        assert node is not None
        return node


def usernames(rng: random.Random, count: int) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        first, second = rng.choice(NAME_PARTS[0]), rng.choice(NAME_PARTS[1])
        style = rng.randrange(3)
        if style == 0:
            names.add(f"{first}_{second}{rng.randint(1, 999)}")
        elif style == 1:
            names.add(f"{first.capitalize()}{second.capitalize()}")
        else:
            names.add(f"{second}-{first}-{rng.randint(10, 99)}")
    return sorted(names)


def compose(seed: int = 7) -> dict[str, Any]:
    """The whole corpus as a JSON-ready dict."""
    rng = random.Random(seed)
    users = usernames(rng, 90)
    threads: list[dict[str, Any]] = []
    for name, sub in SUBREDDITS.items():
        composer = Composer(rng, sub, users)
        for index, spec in enumerate(sub["threads"]):
            age = rng.randint(2 * 3600, 9 * 86400)
            thread = composer.thread(spec, age, 9 if index == 0 else rng.randint(3, 6))
            if index == 0:
                thread["comments"].append(composer.long_chain(thread["author"], age - 100, 12))
            thread["subreddit"] = name
            threads.append(thread)
    subreddits = [
        {"name": n, "title": s["title"], "description": s["description"]}
        for n, s in SUBREDDITS.items()
    ]
    return {"subreddits": subreddits, "users": users, "threads": threads}
