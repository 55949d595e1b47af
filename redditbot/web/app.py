"""The Starlette application: review queue, history, one job's story, login.

Reading and writing the store happens on Starlette's thread pool (SQLAlchemy is synchronous);
every decision goes through ``redditbot.store.review``, the path the CLI takes too.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from redditbot.domain import Clock, Status, utcnow
from redditbot.errors import ConfigError
from redditbot.store.history import parse_since
from redditbot.store.review import NotHeld, ReviewDecision, review_post, review_reply
from redditbot.web import data
from redditbot.web.security import (
    SecurityHeaders,
    csrf_token,
    current_user,
    form_with_csrf,
    login_required,
    password_matches,
    safe_next,
)
from redditbot.web.settings import WebSettings

HERE = Path(__file__).parent
OPERATOR_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MAX_TEXT = 10_000  # Reddit's limit for a comment or a self post
MAX_TITLE = 300


def make_environment() -> Environment:
    """The templates' Jinja2 environment: every ``{{ value }}`` is HTML-escaped, always (not by
    file name), since nearly every value on the pages came from Reddit."""
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)


def create_app(
    sessions: sessionmaker[Session],
    settings: WebSettings,
    *,
    reddit_url: str = "https://www.reddit.com",
    clock: Clock = utcnow,
    environment: Environment | None = None,
) -> Starlette:
    """The pages over ``sessions``; ``reddit_url`` turns stored permalinks into links."""
    settings.require_password()
    pages = Pages(sessions, settings, reddit_url, clock, environment or make_environment())
    routes = [
        Route("/", pages.home),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/review", pages.review),
        Route("/review/replies/{job_id:int}/approve", pages.approve_reply, methods=["POST"]),
        Route("/review/replies/{job_id:int}/reject", pages.reject_reply, methods=["POST"]),
        Route("/review/posts/{job_id:int}/approve", pages.approve_post, methods=["POST"]),
        Route("/review/posts/{job_id:int}/reject", pages.reject_post, methods=["POST"]),
        Route("/history", pages.history),
        Route("/jobs/{job_id:int}", pages.job),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        # A new secret per process: logins do not outlive a restart, and no key sits on disk.
        Middleware(
            SessionMiddleware,
            secret_key=secrets.token_urlsafe(32),
            session_cookie="redditbot_session",
            max_age=int(settings.session_hours * 3600),
            same_site="strict",
            https_only=settings.secure_cookies,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware)


class Pages:
    """The endpoints; each page reads the store once, on the thread pool."""

    def __init__(self, sessions, settings: WebSettings, reddit_url: str, clock: Clock, env):
        self.sessions, self.settings, self.clock = sessions, settings, clock
        env.filters["permalink"] = lambda path: permalink_url(reddit_url, path)
        env.filters["when"] = when
        self.templates = Jinja2Templates(env=env, context_processors=[_common])

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    async def read(self, query: Callable[..., Any], *args: Any) -> Any:
        def run() -> Any:
            with self.sessions() as session:
                result = query(session, *args)
                session.expunge_all()  # the rows travel to the template, detached
                return result

        return await run_in_threadpool(run)

    # ------------------------------------------------------------------ login

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/review", status_code=303)

    async def login_form(self, request: Request) -> Response:
        return self.render(request, "login.html", next=safe_next(request.query_params.get("next")))

    @form_with_csrf
    async def login(self, request: Request, form: FormData) -> Response:
        name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
        expected = self.settings.password.get_secret_value()
        if not password_matches(password, expected) or not OPERATOR_NAME.match(name):
            error = "Wrong password, or a name that is not 1-32 letters, digits, . _ -"
            return self.render(request, "login.html", 401, error=error, next=form.get("next"))
        request.session.clear()  # a new session (and CSRF token) on login: no fixation
        request.session["user"] = name
        return RedirectResponse(safe_next(form.get("next")), status_code=303)

    @form_with_csrf
    async def logout(self, request: Request, form: FormData) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # ------------------------------------------------------------------ pages

    @login_required
    async def review(self, request: Request) -> Response:
        replies, posts = await self.read(data.review_queue)
        return self.render(
            request,
            "review.html",
            replies=replies,
            posts=posts,
            flash=request.session.pop("flash", None),
        )

    @login_required
    async def history(self, request: Request) -> Response:
        try:
            filters = history_filters(request.query_params, self.clock())
        except ConfigError as exc:
            filters, error = data.HistoryFilters(), str(exc)
        else:
            error = None
        rows = [] if error else await self.read(data.history, filters)
        subreddits = await self.read(data.subreddits)
        return self.render(
            request,
            "history.html",
            400 if error else 200,
            rows=rows,
            error=error,
            query=request.query_params,
            subreddits=subreddits,
            statuses=[s.value for s in Status],
        )

    @login_required
    async def job(self, request: Request) -> Response:
        found = await self.read(data.story, request.path_params["job_id"])
        if found is None:
            return self.render(request, "missing.html", 404, job_id=request.path_params["job_id"])
        return self.render(request, "job.html", story=found)

    # ------------------------------------------------------------------ decisions

    @login_required
    @form_with_csrf
    async def approve_reply(self, request: Request, form: FormData) -> Response:
        edits = {"reply_text": _text(form, "text", MAX_TEXT)}
        return await self.decide(
            request, review_reply, ReviewDecision(True, self.reviewer(request), edits=edits)
        )

    @login_required
    @form_with_csrf
    async def reject_reply(self, request: Request, form: FormData) -> Response:
        return await self.decide(request, review_reply, self.rejection(request, form))

    @login_required
    @form_with_csrf
    async def approve_post(self, request: Request, form: FormData) -> Response:
        edits = {"title": _text(form, "title", MAX_TITLE), "body": _text(form, "body", MAX_TEXT)}
        return await self.decide(
            request, review_post, ReviewDecision(True, self.reviewer(request), edits=edits)
        )

    @login_required
    @form_with_csrf
    async def reject_post(self, request: Request, form: FormData) -> Response:
        return await self.decide(request, review_post, self.rejection(request, form))

    def reviewer(self, request: Request) -> str:
        return f"web:{current_user(request)}"

    def rejection(self, request: Request, form: FormData) -> ReviewDecision:
        reason = " ".join(str(form.get("reason", "")).split())[:200] or "reviewer"
        return ReviewDecision(False, self.reviewer(request), reason=reason)

    async def decide(self, request: Request, review, decision: ReviewDecision) -> Response:
        """Run the shared review function in its own transaction; the outcome is flashed."""
        job_id = request.path_params["job_id"]
        if decision.edits and not all(decision.edits.values()):
            request.session["flash"] = f"job {job_id}: an approved text cannot be empty"
            return RedirectResponse("/review", status_code=303)

        def run() -> str:
            with self.sessions.begin() as session:
                return review(session, job_id, decision, now=self.clock()).status

        try:
            status = await run_in_threadpool(run)
        except NotHeld as exc:
            request.session["flash"] = f"not changed: {exc}"
        else:
            request.session["flash"] = f"job {job_id}: {status} by {decision.reviewer}"
        return RedirectResponse("/review", status_code=303)


def when(at: datetime | str | None) -> str:
    """A timestamp for people; the view's columns arrive as text on SQLite."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def _common(request: Request) -> dict[str, Any]:
    return {"csrf": csrf_token(request), "user": current_user(request)}


def _text(form: FormData, name: str, limit: int) -> str:
    # Browsers send CRLF line ends from a textarea; the store keeps LF.
    return str(form.get(name, "")).replace("\r\n", "\n").strip()[:limit]


def permalink_url(reddit_url: str, path: str | None) -> str | None:
    """A link for a stored permalink: Reddit's own paths only (never a javascript: URL)."""
    if not path:
        return None
    if path.startswith("/") and not path.startswith("//"):
        return reddit_url.rstrip("/") + path
    return path if re.match(r"^https://([a-z0-9-]+\.)*reddit\.com/", path) else None


def history_filters(params: Any, now: datetime) -> data.HistoryFilters:
    """The history page's query string, validated; a bad value raises ConfigError naming it."""
    status = params.get("status", "")
    if status and status not in {s.value for s in Status}:
        raise ConfigError(f"status {status!r}: not a job state")
    times = {}
    for name in ("since", "until"):
        value = params.get(name, "").strip()
        try:
            times[name] = parse_since(value, now) if value else None
        except ConfigError:
            raise ConfigError(f"{name} {value!r}: use 30m, 24h, 7d or an ISO date") from None
    limit = params.get("limit", "50")
    if not limit.isdigit():
        raise ConfigError(f"limit {limit!r}: not a number")
    return data.HistoryFilters(
        subreddit=params.get("subreddit", "").strip(),
        status=status,
        search=params.get("q", "").strip(),
        limit=int(limit),
        **times,
    )
