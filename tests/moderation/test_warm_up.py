"""Moderator.warm_up loads the meaning classifier's embedding model ahead of first use."""

from __future__ import annotations

from collections.abc import Sequence

from redditbot.moderation.meaning import MeaningClassifier
from tests.moderation.helpers import FixedClassifier, make_moderator


class RecordingEmbedder:
    """Stands in for the sentence embedder: records what it was asked to embed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[0.0] * 384 for _ in texts]


def test_warm_up_embeds_once_so_the_model_is_loaded_before_a_stage_needs_it():
    embedder = RecordingEmbedder()
    moderator = make_moderator(FixedClassifier(0.0), meaning_classifier=MeaningClassifier(embedder))
    assert embedder.calls == []  # nothing loads at construction
    moderator.warm_up()
    assert len(embedder.calls) == 1
