"""The PRAW adapter: the only module that talks to Reddit. PRAW objects never leave it.

Three things differ from plain PRAW on purpose:
- In a dry run every request that could change Reddit is refused in one place, the requestor
  that every PRAW request passes through (``DryRunViolation``): a write that some code path
  forgot to skip never leaves the process.
- Writes that create things (``/api/comment``, ``/api/submit``) are never retried blindly.
  prawcore retries a POST on 5xx and on dropped connections, which can create the same comment
  twice; here such an outcome raises ``WriteOutcomeUnknown`` and the poster reconciles.
- Reddit's errors become the bot's own error tree (``redditbot.errors``) at this boundary.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from redditbot.domain import (
    LISTING_LIMIT,
    TERMINAL_API_ERRORS,
    Comment,
    InboxItem,
    ListingPage,
    PostedComment,
    PostedSubmission,
    Submission,
)
from redditbot.errors import (
    ConfigError,
    DryRunViolation,
    RateLimited,
    TargetUnavailable,
    TransientError,
    WriteOutcomeUnknown,
)

log = logging.getLogger(__name__)

DEFAULT_RATELIMIT_WAIT = 60.0
NON_IDEMPOTENT_PATHS = ("/api/comment", "/api/submit")
# POSTs that change nothing on Reddit: the token request and loading more comments of a thread.
READ_ONLY_POSTS = ("/api/v1/access_token", "/api/morechildren")
READ_METHODS = ("GET", "HEAD")
# prawcore tries a request up to three times (FiniteRetryStrategy: two retries), each up to the
# request timeout: how long a sender may wait for Reddit is ``timeout * REQUEST_TRIES``.
REQUEST_TRIES = 1 + 2
TITLE_LIMIT = 300  # Reddit's longest submission title, in characters


def _requestor_class(dry_run: bool = False) -> type:
    """A prawcore Requestor that turns an unknown write outcome into a non-retried error and,
    in a dry run, refuses every request that could change something on Reddit."""
    import prawcore
    import requests

    retry_errors = (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ConnectionError,
        requests.exceptions.ReadTimeout,
    )
    retry_statuses = prawcore.Session.RETRY_STATUSES

    class NoBlindRetryRequestor(prawcore.Requestor):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if dry_run and not is_read_only(method, url):
                raise DryRunViolation(f"dry run: refused {method.upper()} {urlsplit(url).path}")
            if method.upper() != "POST" or not url.rstrip("/").endswith(NON_IDEMPOTENT_PATHS):
                return super().request(method, url, *args, **kwargs)
            try:
                response = super().request(method, url, *args, **kwargs)
            except prawcore.RequestException as exc:
                if isinstance(exc.original_exception, retry_errors):
                    raise WriteOutcomeUnknown(f"connection lost during {url}") from None
                raise
            if response.status_code in retry_statuses:
                raise WriteOutcomeUnknown(f"HTTP {response.status_code} from {url}")
            return response

    return NoBlindRetryRequestor


def is_read_only(method: str, url: str) -> bool:
    """Whether a request to Reddit changes nothing there (a dry run may make it)."""
    path = urlsplit(url).path.rstrip("/")
    return method.upper() in READ_METHODS or path.endswith(READ_ONLY_POSTS)


class PrawGateway:
    """``RedditGateway`` over PRAW; ``reddit`` settings name the account and the endpoints.

    With ``dry_run`` it reads as usual and refuses every write (``DryRunViolation``).
    """

    def __init__(
        self, reddit_settings: Any, *, user_agent_suffix: str = "", dry_run: bool = False
    ) -> None:
        import praw

        s = reddit_settings
        agent = s.agent() + user_agent_suffix
        self._reddit = praw.Reddit(
            **_credentials(s),
            user_agent=agent,
            oauth_url=s.oauth_url,
            reddit_url=s.reddit_url,
            short_url=s.short_url,
            ratelimit_seconds=s.ratelimit_seconds,
            timeout=s.timeout,
            check_for_updates=False,
            check_for_async=False,
            requestor_class=_requestor_class(dry_run),
        )
        self._username = s.username
        self._clock_probe = (s.oauth_url, agent, s.timeout)

    # ------------------------------------------------------------------ reading

    def server_time(self) -> datetime | None:
        """Reddit's clock: the ``Date`` header of one unauthenticated GET (None if it sent none).

        No token, no rate-limit budget: any answer (a 401 too) carries the header."""
        import requests

        url, user_agent, timeout = self._clock_probe
        try:
            answer = requests.get(url, headers={"User-Agent": user_agent}, timeout=timeout)
        except requests.RequestException as exc:
            raise TransientError(f"clock check: {type(exc).__name__}") from None
        try:
            return parsedate_to_datetime(answer.headers["Date"]).astimezone(UTC)
        except (KeyError, TypeError, ValueError):
            log.warning("clock check: %s sent no usable Date header", url)
            return None

    def me(self) -> str:
        with _translated_errors("me"):
            return str(self._reddit.user.me().name)

    def submissions(self, subreddits: Sequence[str], after: str | None = None) -> ListingPage:
        return self._listing("new", subreddits, after, to_submission)

    def comments(self, subreddits: Sequence[str], after: str | None = None) -> ListingPage:
        return self._listing("comments", subreddits, after, to_comment)

    def _listing(self, kind: str, subreddits: Sequence[str], after: str | None, convert):
        params = {"after": after} if after else {}
        subreddit = self._reddit.subreddit("+".join(subreddits))
        listing = getattr(subreddit, kind)(limit=LISTING_LIMIT, params=params)
        with _translated_errors(f"{kind} of r/{'+'.join(subreddits)}"):
            items = tuple(convert(thing) for thing in listing)
        return ListingPage(items=items, after=items[-1].fullname if items else None)

    def inbox(self) -> list[InboxItem]:
        with _translated_errors("inbox"):
            things = list(self._reddit.inbox.unread(limit=LISTING_LIMIT))
        return [
            InboxItem(comment=inbox_comment(t), kind=t.type, new=bool(_field(t, "new", True)))
            for t in things
            if _field(t, "was_comment", False)
        ]

    def mark_read(self, fullnames: Sequence[str]) -> None:
        if not fullnames:
            return
        things = [self._reddit.comment(name.removeprefix("t1_")) for name in fullnames]
        with _translated_errors("mark_read"):
            self._reddit.inbox.mark_read(things)

    def fetch(self, fullnames: Sequence[str]) -> list[Submission | Comment]:
        with _translated_errors("info"):
            things = list(self._reddit.info(fullnames=list(fullnames)))
        return [to_comment(t) if t.fullname.startswith("t1_") else to_submission(t) for t in things]

    def own_recent_comments(self, limit: int = LISTING_LIMIT) -> list[PostedComment]:
        redditor = self._reddit.redditor(self._username)
        with _translated_errors("own comments"):
            return [to_posted(c) for c in redditor.comments.new(limit=limit)]

    def own_replies_to(self, parent_fullname: str) -> list[PostedComment]:
        """Search the account's recent comments, then the parent's own replies."""
        found = [c for c in self.own_recent_comments() if c.parent_id == parent_fullname]
        if found or not parent_fullname.startswith("t1_"):
            return found
        return self._replies_under(parent_fullname)

    def _replies_under(self, parent_fullname: str) -> list[PostedComment]:
        parent = self._reddit.comment(parent_fullname.removeprefix("t1_"))
        with _translated_errors("parent replies"):
            parent.refresh()
            parent.replies.replace_more(limit=None)
            replies = list(parent.replies)
        mine = self._username.lower()
        return [to_posted(r) for r in replies if _author(r) and _author(r).lower() == mine]

    # ------------------------------------------------------------------ writing

    def reply(self, parent_fullname: str, text: str) -> PostedComment | None:
        parent = self._parent(parent_fullname)
        with _translated_errors(f"reply to {parent_fullname}"):
            created = parent.reply(text)
        return to_posted(created) if created is not None else None

    def delete(self, fullname: str) -> None:
        with _translated_errors(f"delete {fullname}"):
            self._reddit.comment(fullname.removeprefix("t1_")).delete()

    # ------------------------------------------------------------------ original posts

    def submit(
        self,
        subreddit: str,
        title: str,
        body: str,
        flair_id: str | None = None,
        flair_text: str | None = None,
    ) -> PostedSubmission:
        """Start a self-post. Raises RateLimited, TargetUnavailable, WriteOutcomeUnknown, …

        Refusals carry Reddit's reason: ``subreddit_not_allowed``, ``no_selfs``, ``forbidden``,
        ``title_too_long``, ``submit_validation_*``.
        """
        if len(title) > TITLE_LIMIT:
            raise TargetUnavailable(f"title of {len(title)} characters", reason="title_too_long")
        target = self._reddit.subreddit(subreddit)
        with _translated_errors(f"submit to r/{subreddit}"), _title_errors():
            created = target.submit(title, selftext=body, flair_id=flair_id, flair_text=flair_text)
        return PostedSubmission(fullname=created.fullname, subreddit=subreddit, title=title)

    def own_recent_submissions(self, limit: int = LISTING_LIMIT) -> list[PostedSubmission]:
        """The account's newest submissions (to reconcile a submit whose answer was lost)."""
        redditor = self._reddit.redditor(self._username)
        with _translated_errors("own submissions"):
            return [to_posted_submission(s) for s in redditor.submissions.new(limit=limit)]

    def delete_submission(self, fullname: str) -> None:
        """Delete one of the account's submissions (a duplicate found by reconciliation)."""
        with _translated_errors(f"delete {fullname}"):
            self._reddit.submission(fullname.removeprefix("t3_")).delete()

    def _parent(self, fullname: str) -> Any:
        kind, _, ident = fullname.partition("_")
        if kind == "t3":
            return self._reddit.submission(ident)
        if kind == "t1":
            return self._reddit.comment(ident)
        raise TargetUnavailable(f"cannot reply to {fullname}", reason="unsupported_target")


# --------------------------------------------------------------------------- errors


@contextmanager
def _translated_errors(action: str) -> Iterator[None]:
    """Turn PRAW/prawcore exceptions into the bot's error tree, naming the action."""
    import praw.exceptions
    import prawcore

    try:
        yield
    except praw.exceptions.RedditAPIException as exc:
        raise _api_error(exc, action) from None
    except prawcore.TooManyRequests as exc:
        retry = _float(exc.response.headers.get("retry-after"))
        raise RateLimited(f"{action}: HTTP 429", retry_after=retry) from None
    except prawcore.Forbidden:
        raise TargetUnavailable(f"{action}: forbidden (403)", reason="forbidden") from None
    except prawcore.NotFound:
        raise TargetUnavailable(f"{action}: not found (404)", reason="not_found") from None
    except prawcore.OAuthException as exc:
        raise ConfigError(f"Reddit refused the credentials ({exc.error})") from None
    except (prawcore.ServerError, prawcore.RequestException, prawcore.ResponseException) as exc:
        raise TransientError(f"{action}: {type(exc).__name__}: {exc}") from None


def _api_error(exc: Any, action: str) -> Exception:
    item = exc.items[0]
    code = item.error_type
    if code == "RATELIMIT":
        wait = _ratelimit_seconds(exc)
        return RateLimited(f"{action}: RATELIMIT ({item.message})", retry_after=wait)
    if code in TERMINAL_API_ERRORS:
        return TargetUnavailable(f"{action}: {code}", reason=TERMINAL_API_ERRORS[code])
    return TargetUnavailable(f"{action}: {code}: {item.message}", reason=code.lower())


def _ratelimit_seconds(exc: Any) -> float:
    """Seconds Reddit asked us to wait, from its message ("try again in 9 minutes")."""
    waits = [_parse_wait(item.message or "") for item in exc.items]
    return next((wait for wait in waits if wait), DEFAULT_RATELIMIT_WAIT)


def _parse_wait(message: str) -> float | None:
    found = re.search(r"(\d+)\s*(milliseconds?|seconds?|minutes?)", message)
    if not found:
        return None
    value, unit = int(found[1]), found[2]
    if unit.startswith("milli"):
        return value / 1000
    return value * 60.0 if unit.startswith("minute") else float(value)


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _credentials(s: Any) -> dict[str, Any]:
    """PRAW's keyword arguments for the grant in use: a refresh token (installed apps, which have
    no secret, and web apps; accounts with two-factor auth) or the script app's password."""
    secret = s.client_secret.get_secret_value() or None
    if s.uses_refresh_token():
        return {
            "client_id": s.client_id,
            "client_secret": secret,
            "refresh_token": s.refresh_token.get_secret_value(),
        }
    return {
        "client_id": s.client_id,
        "client_secret": secret,
        "username": s.username,
        "password": s.password.get_secret_value(),
    }


# --------------------------------------------------------------------------- objects → domain


def _author(thing: Any) -> str | None:
    author = _field(thing, "author")
    return str(author.name) if author is not None else None


def _state(thing: Any, body: str) -> dict[str, bool]:
    """Deleted and removed items keep their place, with a marker for a body."""
    removed_by = _field(thing, "removed_by_category")
    return {
        "deleted": body == "[deleted]" or removed_by == "deleted",
        "removed": body == "[removed]" or removed_by not in (None, "deleted"),
    }


def to_submission(thing: Any) -> Submission:
    """A PRAW Submission as the bot's Submission."""
    selftext = thing.selftext or ""
    return Submission(
        id=thing.id,
        subreddit=str(thing.subreddit.display_name),
        author=_author(thing),
        title=thing.title,
        selftext=selftext,
        permalink=thing.permalink,
        url=thing.url,
        created_utc=float(thing.created_utc),
        score=int(thing.score),
        num_comments=int(thing.num_comments),
        is_self=bool(thing.is_self),
        locked=bool(thing.locked),
        archived=bool(_field(thing, "archived", False)),
        over_18=bool(thing.over_18),
        stickied=bool(thing.stickied),
        distinguished=thing.distinguished,
        **_state(thing, selftext),
    )


def _field(thing: Any, name: str, default: Any = None) -> Any:
    """An attribute Reddit sent, without PRAW's lazy fetch of a missing one."""
    value = vars(thing).get(name, default)
    return default if value is None else value


def to_comment(thing: Any, **known: Any) -> Comment:
    """A PRAW Comment as the bot's Comment; ``known`` fills fields the listing lacks."""
    body = thing.body or ""
    fields = dict(
        id=thing.id,
        subreddit=str(thing.subreddit.display_name),
        link_id=_field(thing, "link_id"),
        parent_id=thing.parent_id,
        author=_author(thing),
        body=body,
        permalink=_field(thing, "permalink", ""),
        created_utc=float(thing.created_utc),
        score=int(_field(thing, "score", 0)),
        depth=int(_field(thing, "depth", 0)),
        locked=bool(_field(thing, "locked", False)),
        archived=bool(_field(thing, "archived", False)),
        stickied=bool(_field(thing, "stickied", False)),
        distinguished=_field(thing, "distinguished"),
        **_state(thing, body),
    )
    return Comment(**(fields | known))


def inbox_comment(thing: Any) -> Comment:
    """An inbox item (mention or reply): Reddit sends ``context`` instead of ``link_id``."""
    context = _field(thing, "context", "")  # /r/{sub}/comments/{link}/{slug}/{id}/?context=3
    parts = context.split("?")[0].strip("/").split("/")
    link_id = f"t3_{parts[3]}" if len(parts) > 3 else thing.parent_id
    return to_comment(thing, link_id=link_id, permalink=context.split("?")[0])


def to_posted(thing: Any) -> PostedComment:
    """A PRAW Comment the bot wrote."""
    return PostedComment(
        fullname=thing.fullname,
        parent_id=thing.parent_id,
        permalink=_field(thing, "permalink", ""),
        body=thing.body or "",
        score=int(_field(thing, "score", 0)),
        created_utc=float(_field(thing, "created_utc", 0.0)),
    )


# --------------------------------------------------------------------------- submissions


@contextmanager
def _title_errors() -> Iterator[None]:
    """Reddit's TOO_LONG on the ``title`` field gets its own reason."""
    import praw.exceptions

    try:
        yield
    except praw.exceptions.RedditAPIException as exc:
        item = exc.items[0]
        if item.error_type == "TOO_LONG" and item.field == "title":
            raise TargetUnavailable(
                f"title too long: {item.message}", reason="title_too_long"
            ) from None
        raise


def to_posted_submission(thing: Any) -> PostedSubmission:
    """A PRAW Submission the bot wrote."""
    return PostedSubmission(
        fullname=thing.fullname,
        subreddit=str(thing.subreddit.display_name),
        title=thing.title,
        permalink=_field(thing, "permalink", ""),
        created_utc=float(_field(thing, "created_utc", 0.0)),
    )
