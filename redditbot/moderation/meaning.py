"""The meaning classifier: a small linear head over all-MiniLM-L6-v2 sentence embeddings.

It scores a text per category of harm (identity hate, harassment, threats, sexual content,
encouragement of self-harm, praise of extremism) from what the text means, not from its words,
so that "they breed like rats, send them back" is caught without a listed word and "a couple of
hoes for the allotment" is not. The head is trained by ``redditbot train-moderation`` (see
:mod:`redditbot.moderation.train_meaning`) and ships as JSON beside the data set it learnt from.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from redditbot.domain import CheckResult
from redditbot.errors import ConfigError
from redditbot.moderation.verdicts import failed, passed
from redditbot.quality.embeddings import Embedder, SentenceEmbedder, bundled_model_dir

DATA_DIR = Path(__file__).parent / "data"
BUNDLED_HEAD = DATA_DIR / "meaning_head.json"
DEFAULT_THRESHOLD = 0.5  # for a head written before thresholds were chosen by the trainer


@dataclass(frozen=True)
class MeaningHead:
    """One-vs-rest logistic regressions: ``sigmoid(weights @ vector + bias)`` per category,
    with the per-category thresholds the training command chose by cross-validation."""

    categories: tuple[str, ...]
    weights: np.ndarray  # (categories, dimensions)
    bias: np.ndarray  # (categories,)
    thresholds: dict[str, float]  # category -> threshold (DEFAULT_THRESHOLD when not recorded)

    @classmethod
    def load(cls, path: Path) -> MeaningHead:
        """Read a head written by the training command; errors name the file and the field."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"moderation.meaning.head: cannot read {path}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"moderation.meaning.head: {path} line {exc.lineno}: {exc.msg}"
            ) from exc
        for key in ("categories", "weights", "bias"):
            if key not in data:
                raise ConfigError(f"moderation.meaning.head: {path} has no {key!r}")
        weights = np.asarray(data["weights"], dtype=np.float32)
        bias = np.asarray(data["bias"], dtype=np.float32)
        if weights.shape[0] != len(data["categories"]) or bias.shape != (weights.shape[0],):
            raise ConfigError(
                f"moderation.meaning.head: {path}: weights {weights.shape} and bias {bias.shape} "
                f"do not fit {len(data['categories'])} categories"
            )
        chosen = data.get("thresholds", {})
        unknown = set(chosen) - set(data["categories"])
        if unknown:
            raise ConfigError(
                f"moderation.meaning.head: {path}: thresholds name unknown categories "
                f"{sorted(unknown)}"
            )
        thresholds = {c: float(chosen.get(c, DEFAULT_THRESHOLD)) for c in data["categories"]}
        return cls(tuple(data["categories"]), weights, bias, thresholds)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(texts, categories) probabilities for (texts, dimensions) embeddings."""
        logits = vectors @ self.weights.T + self.bias
        return 1.0 / (1.0 + np.exp(-logits))


class MeaningClassifier:
    """Scores texts per category; the embedding model and the head load on first use."""

    def __init__(self, embedder: Embedder, head_path: Path = BUNDLED_HEAD) -> None:
        self._embedder = embedder
        self._head_path = head_path
        self._head: MeaningHead | None = None
        self._lock = threading.Lock()

    @property
    def categories(self) -> tuple[str, ...]:
        return self.head().categories

    @property
    def thresholds(self) -> dict[str, float]:
        """The head's own per-category thresholds (settings may override them)."""
        return self.head().thresholds

    def head(self) -> MeaningHead:
        with self._lock:
            if self._head is None:
                self._head = MeaningHead.load(self._head_path)
            return self._head

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{category: probability} for each text (one embedding pass for all of them)."""
        if not texts:
            return []
        head = self.head()
        vectors = np.asarray(self._embedder.embed(list(texts)), dtype=np.float32)
        return [dict(zip(head.categories, (float(p) for p in row))) for row in head.scores(vectors)]


def judge_meaning(
    name: str, scores: dict[str, float], threshold_for: Callable[[str], float], action: str
) -> CheckResult:
    """Fail on the category whose score is furthest over its threshold; pass with the top
    score otherwise. The reason reads ``NAME:CATEGORY:SCORE>=THRESHOLD``."""
    over = [
        (score - threshold_for(c), c, score)
        for c, score in scores.items()
        if score >= threshold_for(c)
    ]
    if over:
        _, category, score = max(over)
        reason = f"{name}:{category}:{score:.2f}>={threshold_for(category)}"
        return failed(name, reason, action, score=score, category=category)
    return passed(name, score=max(scores.values(), default=0.0))


class MeaningCache:
    """One MeaningClassifier per (head, embedding model), shared by every subreddit's
    Moderator so that the embedding model is loaded once per process."""

    def __init__(self) -> None:
        self._classifiers: dict[tuple[str, str], MeaningClassifier] = {}
        self._lock = threading.Lock()

    def get(self, settings) -> MeaningClassifier | None:
        """The classifier for ``settings`` (a MeaningSettings), or None when it is off."""
        if not settings.enabled:
            return None
        key = (settings.head or "", settings.embedding_model or "")
        with self._lock:
            if key not in self._classifiers:
                self._classifiers[key] = build_meaning(settings)
            return self._classifiers[key]


def build_meaning(settings) -> MeaningClassifier | None:
    """The classifier ``settings`` (a MeaningSettings) describe, not yet loaded."""
    if not settings.enabled:
        return None
    model_dir = Path(settings.embedding_model).expanduser() if settings.embedding_model else None
    embedder = SentenceEmbedder(model_dir or bundled_model_dir())
    head = Path(settings.head).expanduser() if settings.head else BUNDLED_HEAD
    return MeaningClassifier(embedder, head)
