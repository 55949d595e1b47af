"""Parent -> real human reply pairs, extracted at run time from PRAW's recorded Reddit exchanges.

The cassettes (``/work/shared/reddit-cassettes``, vcrpy JSON) hold real Reddit listings and
comment trees. Every comment whose parent (a comment or a post) is also recorded gives a pair:
the thread as the bot would see it, and the reply a person wrote. The text is Reddit users'
content: it is read here at run time and never written into the repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASSETTES = Path(__file__).resolve().parents[1].parent / "shared" / "reddit-cassettes"
SHARED_CASSETTES = Path("/work/shared/reddit-cassettes")  # where the worktrees' checkouts see it
GONE = {"[deleted]", "[removed]", ""}
BOTS = {"automoderator"}
MAX_ANCESTORS = 8


@dataclass(frozen=True)
class Pair:
    """A thing a person answered (as a ``redditbot draft`` input line) and their reply."""

    draft_input: dict[str, Any]
    reply: str
    reply_id: str
    parent_id: str
    thread: str
    score: int


def default_cassettes() -> Path:
    """The shared cassette folder (beside the main checkout or this worktree)."""
    for candidate in (CASSETTES, SHARED_CASSETTES):
        if candidate.is_dir():
            return candidate
    return CASSETTES


def recorded_things(folder: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every comment (t1) and post (t3) in the cassettes, by fullname: (kind, data)."""
    things: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.json")):
        for exchange in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
            body = exchange["response"]["body"].get("string") or ""
            try:
                payload = json.loads(body)
            except json.JSONDecodeError:
                continue  # HTML error pages and empty bodies hold no things
            for kind, data in _walk(payload):
                things.setdefault(data["name"], (kind, data))
    return things


def _walk(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        data = node.get("data")
        if node.get("kind") in ("t1", "t3") and isinstance(data, dict) and data.get("name"):
            yield node["kind"], data
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def reply_pairs(folder: Path | None = None) -> list[Pair]:
    """Every usable parent -> human reply pair, one per parent (its best-scored reply)."""
    things = recorded_things(folder or default_cassettes())
    best: dict[str, Pair] = {}
    for name in sorted(things):
        kind, data = things[name]
        parent = things.get(data.get("parent_id") or "")
        if kind != "t1" or parent is None or not _usable(data) or not _usable(parent[1]):
            continue
        pair = Pair(
            draft_input=_draft_input(things, parent), reply=data["body"].strip(), reply_id=name,
            parent_id=parent[1]["name"], thread=data.get("link_id") or "",
            score=int(data.get("score") or 0),
        )  # fmt: skip
        current = best.get(pair.parent_id)
        if current is None or pair.score > current.score:
            best[pair.parent_id] = pair
    return [best[key] for key in sorted(best)]


def _usable(data: dict[str, Any]) -> bool:
    text = data.get("body") if "body" in data else data.get("title")
    author = (data.get("author") or "").lower()
    return (text or "").strip() not in GONE and author not in BOTS and author != "[deleted]"


def _draft_input(things: dict, parent: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    kind, data = parent
    link_id = data["name"] if kind == "t3" else data.get("link_id")
    post = things.get(link_id or "", (None, {}))[1]
    line: dict[str, Any] = {
        "subreddit": data.get("subreddit") or post.get("subreddit") or "all",
        "title": post.get("title") or data.get("link_title") or "",
        "selftext": post.get("selftext") or "",
        "submission_author": post.get("author") or data.get("link_author"),
        "author": data.get("author"),
        "thread": link_id,
        "ancestors": [],
    }
    if kind == "t1":
        line["text"] = data["body"]
        line["ancestors"] = _ancestors(things, data)
    return line


def _ancestors(things: dict, comment: dict[str, Any]) -> list[dict[str, str]]:
    chain = []
    parent = things.get(comment.get("parent_id") or "")
    while parent is not None and parent[0] == "t1" and len(chain) < MAX_ANCESTORS:
        chain.append({"author": parent[1].get("author"), "text": parent[1]["body"]})
        parent = things.get(parent[1].get("parent_id") or "")
    return list(reversed(chain))


def spread(pairs: list[Pair], limit: int) -> list[Pair]:
    """``limit`` pairs taken evenly across the list (a fixed, reproducible sample)."""
    if limit >= len(pairs):
        return list(pairs)
    step = len(pairs) / limit
    return [pairs[int(i * step)] for i in range(limit)]
