"""Replay real recorded Reddit exchanges against the sandbox and compare response shapes.

For every cassette in ``../shared/reddit-cassettes`` (beside the checkout, or ``shared/`` in
it; ``REDDITBOT_CASSETTES`` names another folder), each recorded request is sent to a sandbox
seeded for the purpose, with the recorded ids rewritten to ids that exist there. Then status,
content type, the headers prawcore reads and the JSON shape (keys and value types, recursively,
with listing children grouped by ``kind``) must match the recording. Where Reddit sent items,
the sandbox must send items too: an empty listing is not the right shape. Without the cassettes
the test skips, and in CI (``CI=true``) fails.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from redditbot.reddit.sandbox import (
    DEMO_BOT,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    ManualClock,
    SandboxServer,
    World,
)
from tests.promise import unavailable


def cassettes_dir() -> Path:
    """``REDDITBOT_CASSETTES``, else ``shared/reddit-cassettes`` beside or inside the checkout."""
    if os.environ.get("REDDITBOT_CASSETTES"):
        return Path(os.environ["REDDITBOT_CASSETTES"])
    checkout = Path(__file__).parents[2]
    places = [
        checkout.parent / "shared" / "reddit-cassettes",
        checkout / "shared" / "reddit-cassettes",
    ]
    return next((place for place in places if place.is_dir()), places[0])


CASSETTES = cassettes_dir()
CASSETTE_FILES = sorted(CASSETTES.glob("*.json")) if CASSETTES.is_dir() else []

SUB, PRIVATE_SUB = "sandboxtest", "sandboxprivate"
# Requests outside what the bot uses; the sandbox does not serve them.
NOT_SERVED = [
    (re.compile(r"/message/messages/\w"), "private messages are not part of the bot"),
    (re.compile(r"/message/messages/?$"), "private messages are not part of the bot"),
    (re.compile(r"/api/approve"), "moderator actions are not part of the bot"),
    (re.compile(r"/api/validate_submission_field"), "the bot never submits posts"),
]
# Recorded 403s on endpoints the bot does not use: replay as a GET the sandbox refuses likewise.
FORBIDDEN_STAND_IN = f"/r/{PRIVATE_SUB}/new"
PRAW_HEADERS = (
    "x-ratelimit-remaining",
    "x-ratelimit-used",
    "x-ratelimit-reset",
    "www-authenticate",
    "retry-after",
)
# Fields Reddit may send as null even where this recording had a value.
NULLABLE = {
    "author_fullname",
    "selftext_html",
    "link_flair_text",
    "link_flair_css_class",
    "author_flair_text",
    "author_flair_css_class",
    "author_flair_type",
    "author_flair_richtext",
    "link_flair_type",
    "author_patreon_flair",
    "author_premium",
    "thumbnail_height",
    "thumbnail_width",
    "media",
    "secure_media",
    "link_flair_text_color",
    "link_flair_background_color",
    "after",
    "collapsed_reason",
    "geo_filter",
    "modhash",
    "dist",
    "first_message",
    "subreddit_type",
    "distinguished",  # "moderator"/"admin" only on distinguished items
    # the viewer's own vote, and report fields only moderators see
    "likes",
    "report_reasons",
    "num_reports",
}
# Fields whose type legitimately varies: ``edited`` is false or a timestamp, ``replies`` is ""
# for a leaf comment or a Listing.
ALTERNATIVES = {"edited": {"bool", "float"}, "replies": {"str", "dict"}}
# Keys in the older recordings that Reddit no longer sends (absent from the 2025-26 ones), and
# keys that only link/media posts carry (sandbox posts are self posts).
NOT_REQUIRED = {
    "steward_reports",
    "whitelist_status",
    "parent_whitelist_status",
    "num_duplicates",
    "from",
    "from_id",
    "from_kind",
    "gid_1",
    "gid_2",
    "gid_3",
    "post_hint",
    "preview",
    "content",
    "height",
    "scrolling",
    "width",
}
# Nested objects the bot never reads: compared as "an object", not key by key.
OPAQUE = {"features", "subreddit"}


# ---------------------------------------------------------------------- shapes


def type_name(value: Any) -> str:
    return {
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        list: "list",
        dict: "dict",
        type(None): "null",
    }[type(value)]


PLAIN_TYPES = {"bool", "int", "float", "str", "list", "dict", "null"}


def group_of(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("kind"), str):
        return value["kind"]
    return type_name(value)


@dataclass
class Schema:
    """The merged shape of every value seen at one place in the recorded JSON."""

    types: set[str] = field(default_factory=set)
    dicts: int = 0
    key_counts: Counter[str] = field(default_factory=Counter)
    fields: dict[str, Schema] = field(default_factory=dict)
    items: dict[str, Schema] = field(default_factory=dict)

    def add(self, value: Any) -> Schema:
        self.types.add(type_name(value))
        if isinstance(value, dict):
            self.dicts += 1
            for key, item in value.items():
                self.key_counts[key] += 1
                self.fields.setdefault(key, Schema()).add(item)
        elif isinstance(value, list):
            for item in value:
                self.items.setdefault(group_of(item), Schema()).add(item)
        return self

    def required_keys(self) -> set[str]:
        return {k for k, n in self.key_counts.items() if n == self.dicts}


def mismatches(schema: Schema, actual: Any, where: str = "$") -> list[str]:
    """How ``actual`` differs from the recorded shape; empty when it conforms."""
    kind, key = type_name(actual), where.rsplit(".", 1)[-1]
    if kind == "null":
        known_null = "null" in schema.types or key in NULLABLE
        return [] if known_null else [f"{where}: null where Reddit sent {sorted(schema.types)}"]
    allowed = schema.types | ALTERNATIVES.get(key, set())
    if kind not in allowed and schema.types != {"null"}:
        return [f"{where}: {kind} where Reddit sent {sorted(schema.types)}"]
    if isinstance(actual, dict) and key in OPAQUE:
        return []
    if isinstance(actual, dict):
        return _dict_mismatches(schema, actual, where)
    if isinstance(actual, list):
        return _list_mismatches(schema, actual, where)
    return []


def _dict_mismatches(schema: Schema, actual: dict, where: str) -> list[str]:
    missing = sorted(schema.required_keys() - set(actual) - NOT_REQUIRED)
    found = [f"{where}: missing keys {missing}"] if missing else []
    for key, value in actual.items():
        if key in schema.fields:
            found.extend(mismatches(schema.fields[key], value, f"{where}.{key}"))
    return found


def _list_mismatches(schema: Schema, actual: list, where: str) -> list[str]:
    things = sorted(set(schema.items) - PLAIN_TYPES)  # kinds: t1, t3, more, Listing, …
    if things and not actual:
        return [f"{where}: empty where Reddit sent {', '.join(things)} items"]
    found: list[str] = []
    for index, item in enumerate(actual):
        group = group_of(item)
        if group in schema.items:
            found.extend(mismatches(schema.items[group], item, f"{where}[{index}:{group}]"))
        elif things:
            found.append(f"{where}[{index}]: a {group} where Reddit sent only {things}")
    return found[:20]


# ---------------------------------------------------------------------- the seeded world


@dataclass
class Pools:
    """Sandbox ids that recorded ids are rewritten to, by kind."""

    posts: list[str]
    comments: list[str]
    mapped: dict[str, str] = field(default_factory=dict)
    used: Counter[str] = field(default_factory=Counter)

    def map(self, kind: str, recorded: str) -> str:
        key = f"{kind}_{recorded}"
        if key not in self.mapped:
            pool = self.posts if kind == "t3" else self.comments
            self.mapped[key] = pool[self.used[kind] % len(pool)]
            self.used[kind] += 1
        return self.mapped[key]


def conformance_world(clock: ManualClock) -> tuple[World, Pools]:
    """A wide, deep thread; the bot's own comments; an inbox full of mentions and replies."""
    world = World(clock=clock)
    world.add_user(DEMO_BOT, DEMO_PASSWORD)
    world.add_subreddit(SUB, "Sandbox test", "For conformance replays")
    world.add_subreddit(PRIVATE_SUB, private=True)
    posts = [world.add_submission(SUB, f"poster{n}", f"Thread {n}", "Some text") for n in range(6)]
    big = f"t3_{posts[0]}"
    own = [world.add_comment(big, DEMO_BOT, f"bot comment {n}") for n in range(4)]
    others: list[str] = []
    for n in range(40):
        top = world.add_comment(big, f"user{n % 9}", f"top-level {n}")
        others.append(top)
        others.append(world.add_comment(f"t1_{top}", f"user{n % 5}", f"reply {n}"))
    _deep_chain(world, big, 14)
    for n in range(30):  # under someone else's comment a mention is a username_mention
        world.mention(DEMO_BOT, f"t1_{others[n]}", f"user{(n + 1) % 9}", f"question {n}")
        world.add_comment(f"t1_{own[n % 4]}", f"user{n % 7}", f"answer to the bot {n}")
    return world, Pools(posts, own + others)


def _deep_chain(world: World, parent: str, depth: int) -> None:
    for n in range(depth):
        parent = f"t1_{world.add_comment(parent, f'user{n % 2}', f'chain {n}')}"


# ---------------------------------------------------------------------- replay


@dataclass
class Replayer:
    """Sends recorded requests to the sandbox, translated to its ids and credentials."""

    server: SandboxServer
    pools: Pools
    token: str = ""

    def send(self, recorded: dict[str, Any], expected_status: int) -> requests.Response:
        url = urlsplit(recorded["uri"])
        form = dict(parse_qsl(_body_text(recorded), keep_blank_values=True))
        if url.path.rstrip("/") == "/api/v1/access_token":
            return self._token(form, expected_status)
        path, query = self._rewrite_path(url.path), self._rewrite_pairs(parse_qsl(url.query))
        if expected_status == 403 and not path.startswith(("/api/v1/me", "/r/")):
            path = FORBIDDEN_STAND_IN
        if expected_status in (429, 500, 502, 503, 504, 520, 522):
            self.server.faults.add(path, status=expected_status, retry_after=4, times=1)
        token = "expired-or-unknown" if expected_status == 401 else self.token
        return requests.request(
            recorded["method"],
            f"{self.server.url}{path}?{urlencode(query)}",
            data=self._rewrite_pairs(list(form.items())) if form else None,
            headers={"Authorization": f"bearer {token}"},
            timeout=10,
        )

    def _token(self, recorded_form: dict[str, str], expected_status: int) -> requests.Response:
        if expected_status == 429:
            self.server.faults.add("/api/v1/access_token", status=429)
        form = dict(recorded_form)
        if form.get("grant_type") == "password":
            bad = "otp" in form  # the recorded exchange was refused: invalid_grant
            form.update(username=DEMO_BOT, password="wrong" if bad else DEMO_PASSWORD)
        elif form.get("grant_type") == "refresh_token":
            form["refresh_token"] = self.server.issue_refresh_token(
                DEMO_CLIENT_ID, DEMO_BOT, scope=self.refresh_scope
            )
        answer = requests.post(
            f"{self.server.url}/api/v1/access_token",
            auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
            data=form,
            timeout=10,
        )
        if answer.ok and "access_token" in answer.json():
            self.token = answer.json()["access_token"]
        return answer

    refresh_scope: str = "*"

    def _rewrite_path(self, path: str) -> str:
        path = path.replace("<USERNAME>", DEMO_BOT)
        path = re.sub(rf"/user/(?!{DEMO_BOT}/)[^/]+", "/user/user1", path)
        path = re.sub(r"/r/(?!all/)[^/]+", f"/r/{SUB}", path)
        path = re.sub(r"(/comments/)(\w+)", lambda m: m[1] + self.pools.map("t3", m[2]), path)
        return re.sub(r"(/_/)(\w+)", lambda m: m[1] + self.pools.map("t1", m[2]), path)

    def _rewrite_pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(key, self._rewrite_value(key, value)) for key, value in pairs]

    def _rewrite_value(self, key: str, value: str) -> str:
        if key == "before":  # a cursor of the recorded kind with newer items, as recorded
            world = self.server.world
            return (
                world.submissions()[-1] if value.startswith("t3_") else world.comments()[10]
            ).fullname
        if key == "children":
            return ",".join(self.pools.map("t1", v) for v in value.split(","))
        return re.sub(r"\b(t[13])_(\w+)", lambda m: f"{m[1]}_{self.pools.map(m[1], m[2])}", value)


def _body_text(recorded: dict[str, Any]) -> str:
    body = recorded.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    return body or ""


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else value
    return None


def _value_format(value: str) -> str:
    if re.fullmatch(r"\d+\.\d+", value):
        return "float-string"
    if re.fullmatch(r"\d+", value):
        return "int-string"
    return value  # e.g. www-authenticate: compared verbatim


def compare(recorded: dict[str, Any], answer: requests.Response, is_token: bool) -> list[str]:
    """Differences between a recorded response and the sandbox's answer."""
    expected_status = recorded["status"]["code"]
    if answer.status_code != expected_status:
        return [f"status {answer.status_code} != recorded {expected_status}"]
    problems = _header_problems(recorded["headers"], answer, is_token)
    body = recorded["body"]["string"]
    if not body:
        return problems + (
            [f"body {answer.text[:60]!r} where Reddit sent none"] if answer.text else []
        )
    if not _header(recorded["headers"], "content-type").startswith("application/json"):
        return problems + ([] if "pardner" in answer.text else ["missing 'whoa there' page"])
    return problems + mismatches(Schema().add(json.loads(body)), answer.json())


def _header_problems(headers: dict, answer: requests.Response, is_token: bool) -> list[str]:
    problems = []
    recorded_type = _header(headers, "content-type").lower()
    if answer.headers.get("content-type", "").lower() != recorded_type:
        problems.append(f"content-type {answer.headers.get('content-type')!r} != {recorded_type!r}")
    for name in PRAW_HEADERS if not is_token else ():
        expected = _header(headers, name)
        got = answer.headers.get(name)
        if expected is not None and (got is None or _value_format(got) != _value_format(expected)):
            problems.append(f"header {name}: {got!r}, recorded {expected!r}")
    return problems


def _not_served(recorded: dict[str, Any]) -> str | None:
    path = urlsplit(recorded["uri"]).path
    if "thing_id=t4_" in _body_text(recorded):
        return "replies to private messages are not part of the bot"
    for pattern, reason in NOT_SERVED:
        if pattern.search(path):
            return reason
    return None


def _interactions(cassette: Path) -> Iterator[dict[str, Any]]:
    yield from json.loads(cassette.read_text(encoding="utf-8"))["interactions"]


@pytest.mark.parametrize(
    "cassette", CASSETTE_FILES or [None], ids=lambda p: p.stem if p else "no-cassettes"
)
def test_sandbox_answers_like_recorded_reddit(cassette: Path | None) -> None:
    if cassette is None:
        unavailable(f"no recorded cassettes at {CASSETTES} (set REDDITBOT_CASSETTES)")
    world, pools = conformance_world(ManualClock())
    compared, problems = 0, []
    with SandboxServer(world, ratelimit_budget=1000) as server:
        server.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        replayer = Replayer(server, pools)
        for number, exchange in enumerate(_interactions(cassette)):
            request, response = exchange["request"], exchange["response"]
            if _not_served(request):
                continue
            if "scope" in response["body"]["string"][:2000]:
                replayer.refresh_scope = _recorded_scope(response)
            answer = replayer.send(request, response["status"]["code"])
            is_token = "/access_token" in request["uri"]
            problems += [
                f"#{number} {request['method']} {request['uri'][:70]}: {p}"
                for p in compare(response, answer, is_token)
            ]
            compared += 1
    assert compared > 0
    assert problems == [], "\n".join(problems)


def _recorded_scope(response: dict[str, Any]) -> str:
    try:
        return json.loads(response["body"]["string"]).get("scope", "*")
    except (ValueError, AttributeError):
        return "*"
