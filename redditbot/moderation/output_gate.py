"""The output gate: may this reply be posted?"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from redditbot.disclosure import REDDIT_COMMENT_LIMIT, footer_cost
from redditbot.domain import CheckResult, Draft
from redditbot.moderation import text as textlib
from redditbot.moderation.classifiers import ToxicityClassifier
from redditbot.moderation.hygiene import template_artifact
from redditbot.moderation.judge import Judge
from redditbot.moderation.manipulation import ManipulationCheck
from redditbot.moderation.meaning import MeaningClassifier, judge_meaning
from redditbot.moderation.patterns import PhraseSet
from redditbot.moderation.personal_data import detectors
from redditbot.moderation.settings import ModerationSettings
from redditbot.moderation.verdicts import failed, passed
from redditbot.moderation.wordlist import BUILTIN_TERMS, WordList

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class ReplyState:
    """What the output gate compares a draft with (empty fields fall back to the draft's own
    context: ``parent_text`` to the target body or the post, ``persona`` to ``draft.persona``)."""

    parent_text: str = ""
    ancestor_texts: tuple[str, ...] = ()
    recent_replies: tuple[str, ...] = ()  # the bot's own recent replies, for the repeat check
    system_prompt: str = ""
    persona: str = ""
    footer: str = ""  # the disclosure footer the reply will be posted with


@dataclass(frozen=True)
class ReplyView:
    """A draft and its state resolved into the plain texts the checks read."""

    text: str
    title: str
    author: str
    thread_texts: tuple[str, ...]  # parent first, then ancestors
    recent_replies: tuple[str, ...]
    prompt_text: str
    footer_chars: int = 0  # what the disclosure footer adds when the reply is posted

    @classmethod
    def of(cls, draft: Draft, state: ReplyState) -> ReplyView:
        context = draft.context
        post = "\n".join(filter(None, (context.title, context.selftext)))
        parent = state.parent_text or context.target_body or post
        ancestors = state.ancestor_texts or tuple(c.body for c in context.ancestors)
        return cls(
            text=draft.text,
            title=context.title,
            author=context.target_author or context.submission_author or "",
            thread_texts=tuple(t for t in (parent, *ancestors, post) if t),
            recent_replies=state.recent_replies,
            prompt_text="\n".join(
                filter(None, (state.system_prompt, state.persona or draft.persona))
            ),
            footer_chars=footer_cost(state.footer),
        )


class OutputGate:
    """Runs the output checks; each returns CheckResults (the Moderator fails them closed)."""

    def __init__(
        self,
        settings: ModerationSettings,
        *,
        classifier: ToxicityClassifier | None,
        phrases: dict[str, PhraseSet],
        meaning: MeaningClassifier | None = None,
    ) -> None:
        self._settings = settings
        self._classifier = classifier
        self._meaning = meaning
        self._phrases = phrases
        self._wordlist = WordList((*BUILTIN_TERMS, *settings.toxicity.extra_words))
        self._detectors = detectors(settings.personal_data.phone_regions)
        self._manipulation = ManipulationCheck(phrases["injection"])
        self._judge = Judge(settings.judge) if settings.judge.enabled else None

    def checks(self, view: ReplyView) -> list[tuple[str, Callable]]:
        """(name, zero-argument check) pairs, in the order they are reported."""
        methods = [
            ("length", self.length),
            ("degenerate", self.degenerate),
            ("toxicity", self.toxicity),
            ("meaning", self.meaning),
            ("wordlist", self.wordlist),
            ("personal_data", self.personal_data),
            ("links", self.links),
            ("pings", self.pings),
            ("echo", self.echo),
            ("repeat", self.repeat),
            ("leak", self.leak),
            ("character", self.character),
            ("injection_echo", self.injection_echo),
            ("template", self.template),
            ("manipulation", self.manipulation),
            ("rules", self.rules),
        ]
        if self._judge is not None:  # last: the slowest, and told nothing by the others
            methods.append(("judge", self.judge))
        return [(name, _bind(method, view)) for name, method in methods]

    def length(self, view: ReplyView) -> CheckResult:
        shape, size = self._settings.shape, len(view.text.strip())
        if size < shape.min_chars:
            return failed("length", f"length:{size}<{shape.min_chars}", score=size)
        if size > shape.max_chars:
            return failed("length", f"length:{size}>{shape.max_chars}", score=size)
        posted = len(view.text) + view.footer_chars  # Reddit counts the footer too
        if posted > REDDIT_COMMENT_LIMIT:
            reason = f"length:reddit_limit:{posted}>{REDDIT_COMMENT_LIMIT}"
            return failed("length", reason, score=posted)
        return passed("length", score=size)

    def degenerate(self, view: ReplyView) -> CheckResult:
        shape = self._settings.shape
        ngram = textlib.repeated_ngram_ratio(view.text, shape.ngram_size)
        lines = textlib.repeated_line_ratio(view.text)
        real = textlib.word_ratio(view.text)
        if ngram > shape.max_repeated_ngram_ratio:
            return failed("degenerate", f"degenerate:repeated-ngrams:{ngram:.2f}", score=ngram)
        if lines > shape.max_repeated_line_ratio:
            return failed("degenerate", f"degenerate:repeated-lines:{lines:.2f}", score=lines)
        if real < shape.min_word_ratio:
            return failed("degenerate", f"degenerate:few-words:{real:.2f}", score=1 - real)
        return passed("degenerate", score=max(ngram, lines, 1 - real))

    def toxicity(self, view: ReplyView) -> CheckResult:
        if self._classifier is None:
            return passed("toxicity")
        pieces = [view.text, *(s for s in _SENTENCE_END.split(view.text) if s.strip())]
        score = max(self._classifier.score(pieces))
        limits = self._settings.toxicity
        if score >= limits.reject_threshold:
            return failed(
                "toxicity", f"toxicity:{score:.2f}>={limits.reject_threshold}", "reject", score
            )
        if score >= limits.review_threshold:
            return failed(
                "toxicity", f"toxicity:{score:.2f}>={limits.review_threshold}", "review", score
            )
        return passed("toxicity", score=score)

    def meaning(self, view: ReplyView) -> CheckResult:
        """The meaning classifier: the highest-scoring category over its threshold fails."""
        if self._meaning is None or not self._settings.meaning.enabled:
            return passed("meaning")
        scores = self._meaning.score([view.text])[0]
        limits = self._settings.meaning
        head_thresholds = self._meaning.thresholds
        return judge_meaning(
            "meaning", scores, lambda c: limits.threshold_for(c, head_thresholds), limits.action
        )

    def wordlist(self, view: ReplyView) -> CheckResult:
        if not self._settings.toxicity.wordlist:
            return passed("wordlist")
        hits = self._wordlist.find(view.text)
        if hits:
            action = self._settings.toxicity.wordlist_action
            return failed("wordlist", f"wordlist:{hits[0]}", action, score=len(hits))
        return passed("wordlist", score=0)

    def personal_data(self, view: ReplyView) -> CheckResult:
        found = [
            kind for kind in self._settings.personal_data.kinds if self._detectors[kind](view.text)
        ]
        if found:
            action = self._settings.personal_data.action
            return failed("personal_data", f"personal_data:{','.join(found)}", action, len(found))
        return passed("personal_data", score=0)

    def links(self, view: ReplyView) -> CheckResult:
        limits = self._settings.links
        urls = textlib.find_urls(view.text)
        if len(urls) > limits.max_links:
            return failed(
                "links", f"links:{len(urls)}>{limits.max_links}", limits.action, len(urls)
            )
        for url in urls:
            domain = textlib.domain_of(url)
            if not textlib.domain_allowed(domain, limits.allowed_domains):
                return failed("links", f"links:domain:{domain}", limits.action, len(urls))
        return passed("links", score=len(urls))

    def pings(self, view: ReplyView) -> CheckResult:
        limits = self._settings.links
        users, subs = textlib.user_pings(view.text), textlib.subreddit_pings(view.text)
        if len(users) > limits.max_user_pings:
            return failed(
                "pings", f"pings:users:{len(users)}>{limits.max_user_pings}", limits.action
            )
        if len(subs) > limits.max_subreddit_pings:
            reason = f"pings:subreddits:{len(subs)}>{limits.max_subreddit_pings}"
            return failed("pings", reason, limits.action)
        return passed("pings", score=len(users) + len(subs))

    def echo(self, view: ReplyView) -> CheckResult:
        return self._similar(
            "echo", view, view.thread_texts, self._settings.similarity.echo_threshold
        )

    def repeat(self, view: ReplyView) -> CheckResult:
        limit = self._settings.similarity.repeat_threshold
        return self._similar("repeat", view, view.recent_replies, limit)

    def leak(self, view: ReplyView) -> CheckResult:
        phrase = self._phrases["leak"].find(view.text)
        if phrase:
            return failed("leak", f"leak:phrase:{phrase[:60]!r}")
        overlap = _longest_shared_run(
            view.text, view.prompt_text, self._settings.leak.min_overlap_words
        )
        if overlap:
            return failed("leak", f"leak:prompt-overlap:{overlap[:60]!r}")
        return passed("leak")

    def character(self, view: ReplyView) -> CheckResult:
        phrase = self._phrases["character"].find(view.text)
        if phrase:
            action = self._settings.leak.character_break_action
            return failed("character", f"character:{phrase[:60]!r}", action)
        return passed("character")

    def injection_echo(self, view: ReplyView) -> CheckResult:
        phrase = self._phrases["injection"].find(view.text)
        return (
            failed("injection_echo", f"injection_echo:{phrase[:60]!r}")
            if phrase
            else passed("injection_echo")
        )

    def template(self, view: ReplyView) -> CheckResult:
        """Chat-template tokens, role labels or prompt scaffolding left in the reply."""
        found = template_artifact(view.text)
        if found:
            return failed("template", f"template:{found[:60]}", category="leak")
        return passed("template")

    def manipulation(self, view: ReplyView) -> CheckResult:
        """A reply that does what a manipulative parent (or ancestor) asked."""
        found = self._manipulation.find(view.text, view.thread_texts)
        if found:
            return failed("manipulation", f"manipulation:{found}", category="manipulation")
        return passed("manipulation")

    def judge(self, view: ReplyView) -> list[CheckResult]:
        """The judge model's verdict on the reply to its parent ([moderation.judge])."""
        parent = view.thread_texts[0] if view.thread_texts else ""
        return self._judge.check(view.text, parent)

    def rules(self, view: ReplyView) -> list[CheckResult]:
        values = {
            "body": [view.text],
            "title": [view.title],
            "author": [view.author],
            "domain": [textlib.domain_of(u) for u in textlib.find_urls(view.text)],
        }
        results = []
        for rule in self._settings.rules:
            fired, reason = rule.fires(values)
            name = f"rule:{rule.name}"
            results.append(failed(name, reason, rule.action) if fired else passed(name))
        return results

    def _similar(
        self, name: str, view: ReplyView, others: tuple[str, ...], limit: float
    ) -> CheckResult:
        if len(textlib.words(view.text)) < self._settings.similarity.min_words or not others:
            return passed(name, score=0.0)
        score = max(textlib.similarity(view.text, other) for other in others)
        if score >= limit:
            return failed(name, f"{name}:{score:.2f}>={limit}", score=score)
        return passed(name, score=score)


def _longest_shared_run(draft: str, prompt: str, n: int) -> str | None:
    """A run of ``n`` words that the draft shares with the prompt, or None."""
    if not prompt:
        return None
    prompt_grams = set(textlib.ngrams(textlib.words(prompt), n))
    for gram in textlib.ngrams(textlib.words(draft), n):
        if gram in prompt_grams:
            return " ".join(gram)
    return None


def _bind(method: Callable, view: ReplyView) -> Callable:
    return lambda: method(view)
