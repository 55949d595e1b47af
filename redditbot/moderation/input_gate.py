"""The input gate: should the bot answer this target at all?"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from redditbot.domain import CheckResult, Target
from redditbot.moderation.meaning import MeaningClassifier, judge_meaning
from redditbot.moderation.patterns import PhraseSet
from redditbot.moderation.settings import InputGateSettings
from redditbot.moderation.verdicts import failed, passed

_OPT_COMMAND = re.compile(r"(?<![\w!])!opt[-_ ]?(out|in)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TargetState:
    """What the store knows about a target's surroundings, handed to the input gate.

    Names are compared case-insensitively. The caps count the bot's replies already made (or
    queued) in this thread and to this author, over whatever window the store applies.
    """

    bot_accounts: frozenset[str] = frozenset()
    opted_out_users: frozenset[str] = frozenset()
    replies_in_thread: int = 0
    replies_to_user: int = 0
    own_comment_ids: frozenset[str] = frozenset()  # fullnames ("t1_…") of the bot's comments


def parse_opt_command(text: str) -> Literal["optout", "optin"] | None:
    """``"optout"`` / ``"optin"`` when the text carries ``!optout`` / ``!optin`` (the last one
    written wins), else None."""
    commands = _OPT_COMMAND.findall(text)
    if not commands:
        return None
    return "optout" if commands[-1].lower() == "out" else "optin"


class InputGate:
    """Runs the input checks; each returns one CheckResult (the Moderator fails them closed)."""

    def __init__(
        self,
        settings: InputGateSettings,
        injection: PhraseSet,
        meaning: MeaningClassifier | None = None,
    ) -> None:
        self._settings = settings
        self._meaning = meaning
        self._injection = injection
        self._bot_patterns = [re.compile(p) for p in settings.bot_name_patterns]
        self._known_bots = {name.lower() for name in settings.known_bots}
        self._blocked_users = {name.lower() for name in settings.blocked_users}
        self._blocked_subreddits = {name.lower() for name in settings.blocked_subreddits}

    def checks(self, target: Target, state: TargetState) -> list[tuple[str, Callable]]:
        """(name, zero-argument check) pairs, in the order they are reported."""
        names_and_methods = [
            ("availability", self.availability),
            ("self", self.self_reply),
            ("bot", self.bot_author),
            ("blocked", self.blocked),
            ("opted_out", self.opted_out),
            ("opt_command", self.opt_command),
            ("depth", self.depth),
            ("thread_cap", self.thread_cap),
            ("user_cap", self.user_cap),
            ("nsfw", self.nsfw),
            ("injection", self.injection),
            ("hostile", self.hostile),
        ]
        return [(name, _bind(method, target, state)) for name, method in names_and_methods]

    def availability(self, target: Target, state: TargetState) -> CheckResult:
        for flag in ("deleted", "removed", "locked", "archived"):
            if getattr(target, flag):
                return failed("availability", f"unavailable:{flag}")
        if target.author is None:
            return failed("availability", "unavailable:deleted-author")
        return passed("availability")

    def self_reply(self, target: Target, state: TargetState) -> CheckResult:
        if _lower(target.author) in {a.lower() for a in state.bot_accounts}:
            return failed("self", "self:own-account")
        if target.fullname in state.own_comment_ids:
            return failed("self", "self:own-comment")
        return passed("self")

    def bot_author(self, target: Target, state: TargetState) -> CheckResult:
        author = target.author or ""
        if author.lower() in self._known_bots:
            return failed("bot", f"bot:known:{author}")
        if any(p.search(author) for p in self._bot_patterns):
            return failed("bot", f"bot:name-pattern:{author}")
        if self._settings.skip_distinguished and target.distinguished:
            return failed("bot", f"bot:distinguished:{target.distinguished}")
        return passed("bot")

    def blocked(self, target: Target, state: TargetState) -> CheckResult:
        if _lower(target.author) in self._blocked_users:
            return failed("blocked", f"blocked:user:{target.author}")
        if target.subreddit.lower() in self._blocked_subreddits:
            return failed("blocked", f"blocked:subreddit:{target.subreddit}")
        return passed("blocked")

    def opted_out(self, target: Target, state: TargetState) -> CheckResult:
        if _lower(target.author) in {u.lower() for u in state.opted_out_users}:
            return failed("opted_out", f"opted_out:{target.author}")
        return passed("opted_out")

    def opt_command(self, target: Target, state: TargetState) -> CheckResult:
        command = parse_opt_command(target.body)
        return failed("opt_command", f"opt_command:{command}") if command else passed("opt_command")

    def depth(self, target: Target, state: TargetState) -> CheckResult:
        limit = self._settings.max_depth
        if target.depth > limit:
            return failed("depth", f"depth:{target.depth}>{limit}", score=target.depth)
        return passed("depth", score=target.depth)

    def thread_cap(self, target: Target, state: TargetState) -> CheckResult:
        return _cap("thread_cap", state.replies_in_thread, self._settings.max_replies_per_thread)

    def user_cap(self, target: Target, state: TargetState) -> CheckResult:
        return _cap("user_cap", state.replies_to_user, self._settings.max_replies_per_user)

    def nsfw(self, target: Target, state: TargetState) -> CheckResult:
        if target.over_18 and not self._settings.allow_nsfw:
            return failed("nsfw", "nsfw:over_18")
        return passed("nsfw")

    def injection(self, target: Target, state: TargetState) -> CheckResult:
        policy = self._settings.injection_policy
        hit = None if policy == "ignore" else self._injection.find(target.body)
        if hit is None:
            return passed("injection")
        return failed("injection", f"injection:{hit[:60]!r}", action=policy)

    def hostile(self, target: Target, state: TargetState) -> CheckResult:
        """Decline a target the meaning classifier finds hostile (hate, threats, ...)."""
        if not self._settings.decline_hostile or self._meaning is None:
            return passed("hostile")
        scores = self._meaning.score([target.body])[0]
        limit = self._settings.hostile_threshold
        return judge_meaning("hostile", scores, lambda category: limit, "reject")


def _cap(name: str, count: int, limit: int) -> CheckResult:
    if count >= limit:
        return failed(name, f"{name}:{count}>={limit}", score=count)
    return passed(name, score=count)


def _lower(name: str | None) -> str | None:
    return None if name is None else name.lower()


def _bind(method: Callable, target: Target, state: TargetState) -> Callable[[], CheckResult]:
    return lambda: method(target, state)
