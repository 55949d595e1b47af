"""A transformers text-classification model from a local directory (the only module of this
package that imports transformers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from redditbot.errors import ModelNotFoundError


class TransformersClassifier:
    """Toxicity = the summed probability of the model's toxic labels."""

    def __init__(self, model_path: str, toxic_labels: Sequence[str]) -> None:
        if not Path(model_path).is_dir():
            raise ModelNotFoundError(
                f"moderation.toxicity.model_path {model_path!r} is not a directory; save a "
                "text-classification model there (save_pretrained) first"
            )
        self._model_path = model_path
        self._toxic = {label.lower() for label in toxic_labels}
        self._pipeline = None

    def score(self, texts: Sequence[str]) -> list[float]:
        if self._pipeline is None:
            self._pipeline = self._load()
        outputs = self._pipeline(list(texts), top_k=None, truncation=True)
        return [self._toxic_probability(labels) for labels in outputs]

    def _toxic_probability(self, labels: list[dict]) -> float:
        return float(sum(item["score"] for item in labels if item["label"].lower() in self._toxic))

    def _load(self):
        from transformers import pipeline

        return pipeline("text-classification", model=self._model_path, device="cpu")
