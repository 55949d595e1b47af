"""Builders shared by the moderation tests: settings, fake classifiers, drafts and targets."""

from __future__ import annotations

from collections.abc import Sequence

from redditbot.domain import ContextComment, Draft, Target, ThreadContext
from redditbot.moderation.moderator import Moderator
from redditbot.moderation.settings import ModerationSettings


class FixedClassifier:
    """A fake classifier that scores every text with ``value`` and records what it saw."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value
        self.seen: list[str] = []

    def score(self, texts: Sequence[str]) -> list[float]:
        self.seen.extend(texts)
        return [self.value for _ in texts]


class BrokenClassifier:
    """A fake classifier that always raises, to exercise fail-closed behaviour."""

    def score(self, texts: Sequence[str]) -> list[float]:
        raise ValueError("model file is corrupt")


def make_settings(**overrides) -> ModerationSettings:
    """Default settings with a partial dict validated over them."""
    return ModerationSettings.model_validate(overrides)


def make_moderator(classifier=None, *, meaning_classifier=None, **overrides) -> Moderator:
    """A Moderator with a fake toxicity classifier (scores 0 unless told otherwise) and, unless
    one is passed, no meaning classifier (tests of the meaning check pass the real one)."""
    return Moderator(
        make_settings(**overrides),
        classifier=classifier or FixedClassifier(),
        meaning=meaning_classifier,
    )


def make_draft(
    text: str,
    *,
    parent: str = "How do I keep basil alive indoors?",
    title: str = "Basil help",
    ancestors: tuple[str, ...] = (),
    author: str = "gardener42",
    persona: str = "",
) -> Draft:
    context = ThreadContext(
        subreddit="gardening",
        title=title,
        ancestors=tuple(ContextComment("someone", body) for body in ancestors),
        target_author=author,
        target_body=parent,
    )
    return Draft(text=text, subreddit="gardening", context=context, persona=persona)


def make_target(**fields) -> Target:
    values = {
        "fullname": "t1_abc",
        "subreddit": "gardening",
        "author": "gardener42",
        "body": "Any tips for basil?",
        "depth": 1,
    }
    values.update(fields)
    return Target(**values)


def failing(verdict) -> dict[str, str]:
    """{check name: reason} of the verdict's failing checks."""
    return {c.name: c.reason for c in verdict.checks if not c.passed}
