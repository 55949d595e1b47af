"""The API endpoints: a request in, an :class:`Answer` out. No HTTP plumbing here.

Each handler reads the :class:`World` and writes to it under the world's lock. The routes are
the part of Reddit's API that the bot and PRAW use (see /work/shared/reddit-api.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redditbot.reddit.sandbox import things
from redditbot.reddit.sandbox.faults import api_error_body
from redditbot.reddit.sandbox.oauth import Token
from redditbot.reddit.sandbox.world import Post, Reply, Subreddit, World

JSON_TYPE = "application/json; charset=UTF-8"
FORBIDDEN = {"message": "Forbidden", "error": 403}
NOT_FOUND = {"message": "Not Found", "error": 404}
BAD_REQUEST = {"message": "Bad Request", "error": 400}
TITLE_LIMIT = 300


@dataclass
class Request:
    """One parsed API request, with the account behind its token."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    token: Token | None

    @property
    def user(self) -> str | None:
        return self.token.user if self.token else None

    def param(self, name: str, default: str = "") -> str:
        return self.form.get(name) or self.query.get(name) or default


@dataclass
class Answer:
    """What to send back, and for writes what happened (for the write log)."""

    status: int
    payload: Any
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str = "ok"
    created: str | None = None

    def encode(self) -> bytes:
        if isinstance(self.payload, bytes):
            return self.payload
        return json.dumps(self.payload).encode()


def ok(payload: Any, outcome: str = "ok", created: str | None = None) -> Answer:
    return Answer(200, payload, outcome=outcome, created=created)


@dataclass
class TreeOptions:
    """Server-wide caps on comment trees (real Reddit: about 500 comments, depth 10)."""

    max_comments: int = 500
    max_depth: int = 10


Handler = Callable[["Api", Request, re.Match[str]], Answer]


class Api:
    """Routes requests to endpoint handlers."""

    def __init__(self, world: World, tree: TreeOptions | None = None) -> None:
        self.world = world
        self.tree = tree or TreeOptions()

    def handle(self, request: Request) -> Answer:
        """Answer ``request``; unknown paths get Reddit's 404."""
        path = request.path.rstrip("/") or "/"
        for method, pattern, handler in ROUTES:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                return handler(self, request, match)
        return Answer(404, NOT_FOUND, outcome="not_found")

    # ------------------------------------------------------------------ account

    def me(self, request: Request, _: re.Match[str]) -> Answer:
        if request.token is None or not request.token.allows("identity"):
            return insufficient_scope()
        user = self.world.user(request.user or "")
        if user is None:
            return ok({})  # application-only tokens: Reddit answers an empty object
        return ok(things.me(user, request.token.client_id))

    def about_user(self, request: Request, match: re.Match[str]) -> Answer:
        user = self.world.user(match["name"])
        return ok(things.about_user(user, request.user)) if user else Answer(404, NOT_FOUND)

    # ------------------------------------------------------------------ listings

    def subreddit_listing(self, request: Request, match: re.Match[str]) -> Answer:
        names = match["subs"].lower().split("+")
        if unknown := [n for n in names if n != "all" and self.world.subreddit(n) is None]:
            location = f"/subreddits/search.json?q={unknown[0]}"
            return Answer(302, b"", "text/html; charset=UTF-8", {"location": location})
        if any(self._private(n) for n in names):
            return Answer(403, {"reason": "private", **FORBIDDEN})
        wanted = None if "all" in names else set(names)
        kind = match["kind"]
        items = (
            self.world.comments(wanted) if kind == "comments" else self.world.submissions(wanted)
        )
        return ok(page(self.world, items, request))

    def front_listing(self, request: Request, _: re.Match[str]) -> Answer:
        return ok(page(self.world, self.world.submissions(), request))

    def user_comments(self, request: Request, match: re.Match[str]) -> Answer:
        if self.world.user(match["name"]) is None:
            return Answer(404, NOT_FOUND)
        return ok(page(self.world, self.world.comments_by(match["name"]), request))

    def user_submitted(self, request: Request, match: re.Match[str]) -> Answer:
        if self.world.user(match["name"]) is None:
            return Answer(404, NOT_FOUND)
        return ok(page(self.world, self.world.submissions_by(match["name"]), request))

    def _private(self, name: str) -> bool:
        sub = self.world.subreddit(name)
        return bool(sub and sub.private)

    def info(self, request: Request, _: re.Match[str]) -> Answer:
        wanted = [f for f in request.param("id").split(",") if f][:100]
        found = [self.world.find(f) for f in wanted]
        children = [things.thing(self.world, item) for item in found if item is not None]
        return ok(things.listing(children))

    # ------------------------------------------------------------------ threads

    def thread(self, request: Request, match: re.Match[str]) -> Answer:
        post = self.world.find(f"t3_{match['link']}")
        if not isinstance(post, Post):
            return Answer(404, NOT_FOUND)
        focus = match["focus"]
        if focus and not isinstance(self.world.find(f"t1_{focus}"), Reply):
            return Answer(404, NOT_FOUND)
        builder = TreeBuilder(self.world, self.tree, request)
        roots = [self.world.get(f"t1_{focus}")] if focus else self.world.replies_to(post.fullname)
        comments = builder.level(roots, post.fullname if not focus else "", base_depth=0)
        head = things.listing([{"kind": "t3", "data": things.submission_data(self.world, post)}])
        return ok([head, things.listing(comments)])

    def more_children(self, request: Request, _: re.Match[str]) -> Answer:
        ids = dict.fromkeys(i for i in request.param("children").split(",") if i)
        flat: dict[str, Reply] = {}
        for reply in (self.world.find(f"t1_{i}") for i in ids):
            if isinstance(reply, Reply):
                flat[reply.fullname] = reply
                flat.update((d.fullname, d) for d in self.world.descendants(reply.fullname))
        data = [{"kind": "t1", "data": things.comment_data(self.world, r)} for r in flat.values()]
        return ok({"json": {"errors": [], "data": {"things": data}}})

    # ------------------------------------------------------------------ writing

    def comment(self, request: Request, _: re.Match[str]) -> Answer:
        """POST /api/comment: the checks Reddit makes, in its order, then the new t1."""
        if request.user is None:
            return ok(api_error_body("USER_REQUIRED"), outcome="error:USER_REQUIRED")
        with self.world.locked():
            parent = self.world.find(request.param("thing_id"))
            refusal = self._refusal(parent, request.user)
            if refusal is not None:
                return refusal
            assert parent is not None
            new_id = self.world.add_comment(parent.fullname, request.user, request.param("text"))
            reply = self.world.get(f"t1_{new_id}")
            data = things.comment_data(self.world, reply)  # type: ignore[arg-type]
            data["likes"] = True  # authors upvote their own comments
            created = {"kind": "t1", "data": data}
        payload = {"json": {"errors": [], "data": {"things": [created]}}}
        return ok(payload, outcome="created", created=f"t1_{new_id}")

    def submit(self, request: Request, _: re.Match[str]) -> Answer:
        """POST /api/submit: a self-post, refused as Reddit refuses it."""
        if request.user is None:
            return ok(api_error_body("USER_REQUIRED"), outcome="error:USER_REQUIRED")
        with self.world.locked():
            sub = self.world.subreddit(request.param("sr"))
            if sub is None:
                return ok(api_error_body("SUBREDDIT_NOEXIST"), outcome="error:SUBREDDIT_NOEXIST")
            if request.user.lower() in sub.banned:
                return Answer(403, FORBIDDEN, outcome="forbidden")
            code = _submit_error(sub, request)
            if code:
                return ok(api_error_body(code), outcome=f"error:{code}")
            new_id = self.world.add_submission(
                sub.name,
                request.user,
                request.param("title"),
                request.param("text"),
                flair_id=request.param("flair_id") or None,
                flair_text=request.param("flair_text") or None,
            )
        post = self.world.get(f"t3_{new_id}")
        url = f"https://www.reddit.com{things.permalink(post)}"  # type: ignore[arg-type]
        data = {"url": url, "drafts_count": 0, "id": new_id, "name": f"t3_{new_id}"}
        return ok({"json": {"errors": [], "data": data}}, outcome="created", created=f"t3_{new_id}")

    def _refusal(self, parent: Post | Reply | None, user: str) -> Answer | None:
        if parent is None:
            return Answer(400, BAD_REQUEST, outcome="error:bad_parent")
        sub = self.world.subreddit(parent.subreddit)
        if sub and user.lower() in sub.banned:
            return Answer(403, FORBIDDEN, outcome="forbidden")
        code = _blocking_error(self.world, parent)
        return ok(api_error_body(code), outcome=f"error:{code}") if code else None

    def delete(self, request: Request, _: re.Match[str]) -> Answer:
        item = self.world.find(request.param("id"))
        if item is not None and item.author.lower() == (request.user or "").lower():
            self.world.delete(item.fullname)
            return ok({}, outcome="deleted")
        return ok({}, outcome="ignored")

    def read_message(self, request: Request, _: re.Match[str]) -> Answer:
        wanted = set(request.param("id").split(","))
        with self.world.locked():
            for entry in self.world.inbox(request.user or ""):
                if entry.comment in wanted:
                    entry.new = False
        return ok({}, outcome="marked_read")

    def no_op_write(self, _: Request, __: re.Match[str]) -> Answer:
        return ok({}, outcome="ignored")

    # ------------------------------------------------------------------ inbox

    def inbox(self, request: Request, match: re.Match[str]) -> Answer:
        owner = request.user or ""
        entries = self.world.inbox(owner)
        box = match["box"]
        if box == "unread":
            entries = [e for e in entries if e.new]
        elif box == "mentions":
            entries = [e for e in entries if e.kind == "username_mention"]
        shown = _window(entries, [e.comment for e in entries], request)
        if box == "unread" and request.param("mark", "true").lower() == "true":
            self._mark_read(shown)
        items = [things.inbox_item(self.world, e, owner) for e in shown]
        return ok(page_of_json(items, request))

    def _mark_read(self, entries: list) -> None:
        with self.world.locked():
            for entry in entries:
                entry.new = False


def _blocking_error(world: World, parent: Post | Reply) -> str | None:
    """The API error that stops a reply to ``parent``, if any (Reddit's order of checks)."""
    post = parent if isinstance(parent, Post) else world.get(parent.link_id)
    if isinstance(parent, Reply) and (parent.deleted or parent.removed):
        return "DELETED_COMMENT"
    if post.deleted or post.removed:
        return "DELETED_LINK"
    if post.archived or parent.archived:
        return "TOO_OLD"
    if post.locked or parent.locked:
        return "THREAD_LOCKED"
    return None


def _submit_error(sub: Subreddit, request: Request) -> str | None:
    """The API error that stops this submission, if any (banned users get 403 before)."""
    user = (request.user or "").lower()
    if sub.restricted and user not in sub.approved:
        return "SUBREDDIT_NOTALLOWED"
    if request.param("kind", "self") == "self" and not sub.allow_selfs:
        return "NO_SELFS"
    if len(request.param("title")) > TITLE_LIMIT:
        return "TOO_LONG"
    if not request.param("title").strip():
        return "SUBMIT_VALIDATION_TITLE_REQUIREMENT"
    if sub.flair_required and not request.param("flair_id") and not request.param("flair_text"):
        return "SUBMIT_VALIDATION_FLAIR_REQUIRED"
    return None


def insufficient_scope() -> Answer:
    header = 'Bearer realm="reddit", error="insufficient_scope"'
    return Answer(403, {"error": 403}, headers={"www-authenticate": header})


# ---------------------------------------------------------------------- paging


def clamp_limit(request: Request) -> int:
    """Reddit's ``limit``: default 25, clamped to 1..100."""
    try:
        return min(max(int(request.param("limit", "25")), 1), 100)
    except ValueError:
        return 25


def page(world: World, items: list, request: Request) -> dict[str, Any]:
    """One page of a newest-first listing, honouring ``before``/``after`` and ``limit``."""
    shown = _window(items, [i.fullname for i in items], request)
    return page_of_json([things.thing(world, i) for i in shown], request)


def _window(items: list, names: list[str], request: Request) -> list:
    """The slice of a newest-first list that ``limit``, ``before`` and ``after`` select."""
    limit = clamp_limit(request)
    before, after = request.param("before"), request.param("after")
    if before:
        end = names.index(before) if before in names else 0
        return items[max(end - limit, 0) : end]
    start = names.index(after) + 1 if after in names else 0
    return items[start : start + limit]


def page_of_json(children: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    """Wrap a page; with ``before=`` Reddit sends null cursors, else ``after`` = last item."""
    limit = clamp_limit(request)
    if request.param("before"):
        return things.listing(children[:limit])
    shown = children[:limit]
    more_left = len(shown) == limit
    after = shown[-1]["data"]["name"] if shown and more_left else None
    return things.listing(shown, after=after)


# ---------------------------------------------------------------------- trees


class TreeBuilder:
    """Nests comments as /comments/{id} does, cutting the tree with ``more`` objects."""

    def __init__(self, world: World, options: TreeOptions, request: Request) -> None:
        self.world = world
        self.budget = min(_int(request.param("limit"), options.max_comments), options.max_comments)
        self.max_depth = min(_int(request.param("depth"), options.max_depth), options.max_depth)
        self.sort = request.param("sort", "confidence")

    def level(self, replies: list[Reply], parent_id: str, base_depth: int) -> list[dict]:
        """Render siblings; those beyond the comment budget go into one ``more``."""
        out: list[dict] = []
        ordered = self._sorted(replies)
        for index, reply in enumerate(ordered):
            if self.budget <= 0:
                out.append(self._more(ordered[index:], parent_id or reply.parent_id, base_depth))
                break
            self.budget -= 1
            out.append(self._node(reply, base_depth))
        return out

    def _node(self, reply: Reply, depth: int) -> dict:
        children = self.world.replies_to(reply.fullname)
        replies: dict | str = ""
        if children and depth + 1 >= self.max_depth:
            replies = things.listing([things.more(reply.fullname, depth + 1, [], 0)])
        elif children:
            replies = things.listing(self.level(children, reply.fullname, depth + 1))
        data = things.comment_data(self.world, reply, replies)
        data["depth"] = depth
        return {"kind": "t1", "data": data}

    def _more(self, rest: list[Reply], parent_id: str, depth: int) -> dict:
        count = len(rest) + sum(len(self.world.descendants(r.fullname)) for r in rest)
        return things.more(parent_id, depth, [r.id for r in rest], count)

    def _sorted(self, replies: list[Reply]) -> list[Reply]:
        if self.sort == "new":
            return sorted(replies, key=lambda r: r.seq, reverse=True)
        if self.sort == "old":
            return sorted(replies, key=lambda r: r.seq)
        return sorted(replies, key=lambda r: (-r.score, r.seq))


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


# ---------------------------------------------------------------------- routes

_SUB = r"/r/(?P<subs>[A-Za-z0-9_+]+)"
ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = (
    ("GET", re.compile(r"/api/v1/me"), Api.me),
    ("GET", re.compile(r"/user/(?P<name>[\w-]+)/about"), Api.about_user),
    ("GET", re.compile(r"/user/(?P<name>[\w-]+)/comments"), Api.user_comments),
    ("GET", re.compile(r"/user/(?P<name>[\w-]+)/submitted"), Api.user_submitted),
    ("GET", re.compile(_SUB + r"/(?P<kind>new|comments|hot|top)"), Api.subreddit_listing),
    ("GET", re.compile(r"/(?:new|hot|top)?"), Api.front_listing),
    ("GET", re.compile(r"/comments/(?P<link>\w+)(?:/[^/]*(?:/(?P<focus>\w+))?)?"), Api.thread),
    ("POST", re.compile(r"/api/morechildren"), Api.more_children),
    ("GET", re.compile(r"/api/morechildren"), Api.more_children),
    ("GET", re.compile(r"/api/info"), Api.info),
    ("POST", re.compile(r"/api/comment"), Api.comment),
    ("POST", re.compile(r"/api/submit"), Api.submit),
    ("POST", re.compile(r"/api/del"), Api.delete),
    ("POST", re.compile(r"/api/read_message"), Api.read_message),
    ("POST", re.compile(r"/api/hide"), Api.no_op_write),
    ("GET", re.compile(r"/message/(?P<box>unread|mentions|inbox)"), Api.inbox),
)
