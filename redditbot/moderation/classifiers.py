"""Offline toxicity classifiers behind one small Protocol.

``profanity-check`` uses the linear model that alt-profanity-check ships (a pickled scikit-learn
model: keep scikit-learn at the version the package pins). The transformers model lives in its own
adapter module so that this one never imports transformers or torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from redditbot.errors import ConfigError
from redditbot.moderation.settings import ToxicitySettings
from redditbot.moderation.wordlist import BUILTIN_TERMS, WordList


class ToxicityClassifier(Protocol):
    """Scores texts from 0 (clean) to 1 (toxic)."""

    def score(self, texts: Sequence[str]) -> list[float]:
        """One score per text, in order."""
        ...


class ProfanityCheckClassifier:
    """alt-profanity-check's TF-IDF + linear SVM model (loaded on first use)."""

    def __init__(self) -> None:
        self._predict_prob = None

    def score(self, texts: Sequence[str]) -> list[float]:
        if self._predict_prob is None:
            self._predict_prob = _load_profanity_check()
        return [float(p) for p in self._predict_prob(list(texts))]


class WordListClassifier:
    """1.0 when a text contains a listed term, else 0.0 (the fallback with no model)."""

    def __init__(self, terms: Sequence[str] = BUILTIN_TERMS) -> None:
        self._wordlist = WordList(terms)

    def score(self, texts: Sequence[str]) -> list[float]:
        return [1.0 if self._wordlist.find(text) else 0.0 for text in texts]


def build_classifier(settings: ToxicitySettings) -> ToxicityClassifier | None:
    """The classifier the settings ask for (None for ``classifier = "none"``)."""
    if settings.classifier == "none":
        return None
    if settings.classifier == "wordlist":
        return WordListClassifier((*BUILTIN_TERMS, *settings.extra_words))
    if settings.classifier == "transformers":
        if not settings.model_path:
            raise ConfigError('moderation.toxicity: classifier = "transformers" needs model_path')
        from redditbot.moderation.hf_classifier import TransformersClassifier

        return TransformersClassifier(settings.model_path, settings.toxic_labels)
    return ProfanityCheckClassifier()


def _load_profanity_check():
    try:
        from profanity_check import predict_prob
    except ImportError as exc:
        raise ConfigError(
            "moderation.toxicity: classifier 'profanity-check' needs alt-profanity-check "
            f"(pip install 'alt-profanity-check==1.9.1'): {exc}"
        ) from exc
    return predict_prob
