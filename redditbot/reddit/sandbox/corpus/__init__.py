"""The bundled corpus: subreddits, users and comment trees written for the sandbox.

``threads.json`` is produced by ``generate.py`` in this folder
(``python -m redditbot.reddit.sandbox.corpus.generate``); it is data, kept in the package so
the seeded world, the demo and the benchmarks all read the same threads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from redditbot.reddit.sandbox.world import World

CORPUS_FILE = "threads.json"
DEMO_BOT = "sandbox_bot"
DEMO_PASSWORD = "sandbox-password"
DEMO_CLIENT_ID = "sandbox-client"
DEMO_CLIENT_SECRET = "sandbox-secret"

Node = dict[str, Any]


@dataclass(frozen=True)
class Corpus:
    """Parsed corpus data; ``populate`` puts it into a world."""

    subreddits: list[dict[str, Any]]
    users: list[str]
    threads: list[dict[str, Any]]

    @property
    def comment_count(self) -> int:
        return sum(_count(t["comments"]) for t in self.threads)

    def populate(self, world: World) -> None:
        """Add every subreddit, user and thread; ages are relative to the world's clock."""
        now = world.clock()
        world.add_user(DEMO_BOT, DEMO_PASSWORD)
        for sub in self.subreddits:
            world.add_subreddit(sub["name"], sub["title"], sub["description"])
        for name in self.users:
            world.add_user(name)
        events: list[tuple[float, int, Node, Node | None]] = []
        for thread in self.threads:
            events.append((thread["age_s"], 0, thread, None))
            events.extend((c["age_s"], 1, c, p or thread) for c, p in _flatten(thread["comments"]))
        created: dict[int, str] = {}
        for age, _, item, parent in sorted(events, key=lambda e: (-e[0], e[1])):
            created[id(item)] = _add(world, item, created.get(id(parent)), now - age)


def _add(world: World, item: Node, parent: str | None, created_utc: float) -> str:
    """Add one thread (parent None) or comment; returns its fullname."""
    if parent is None:
        post_id = world.add_submission(
            item["subreddit"],
            item["author"],
            item["title"],
            item["selftext"],
            created_utc=created_utc,
            score=item.get("score", 1),
        )
        return f"t3_{post_id}"
    comment_id = world.add_comment(
        parent, item["author"], item["body"], created_utc=created_utc, score=item.get("score", 1)
    )
    return f"t1_{comment_id}"


def _flatten(comments: list[Node], parent: Node | None = None) -> list[tuple[Node, Node | None]]:
    """Every comment with its parent comment (None: the thread). Replies are younger."""
    found: list[tuple[Node, Node | None]] = []
    for comment in comments:
        found.append((comment, parent))
        found.extend(_flatten(comment.get("replies", []), comment))
    return found


def _count(comments: list[dict[str, Any]]) -> int:
    return sum(1 + _count(c.get("replies", [])) for c in comments)


def load_corpus(path: Path | None = None) -> Corpus:
    """Read the bundled corpus (or ``path``)."""
    if path is None:
        text = resources.files(__package__).joinpath(CORPUS_FILE).read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    return Corpus(data["subreddits"], data["users"], data["threads"])
