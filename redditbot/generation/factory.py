"""``build_generator``: the backend named in the settings, behind the pipeline's ``Generator``.

Loaded models are held in a ``ModelCache`` that the application creates once and passes to
every ``build_generator`` call: subreddits and accounts that name the same model share one copy
in memory, and each distinct model is loaded once, on first use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from redditbot.domain import Generation, GenerationRequest, Generator
from redditbot.generation.settings import ModelSettings

log = logging.getLogger(__name__)


class ModelCache:
    """Loaded models by key, each loaded at most once, safely across threads."""

    def __init__(self) -> None:
        self._models: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The model under ``key``, calling ``load()`` only if no caller loaded it before."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # a slow load of one model does not block the others
            if key not in self._models:
                self._models[key] = load()
            return self._models[key]

    def __len__(self) -> int:
        """How many models are loaded."""
        return len(self._models)

    def __bool__(self) -> bool:
        # An empty cache is still the shared cache: `cache or ModelCache()` must keep it.
        return True


def build_generator(settings: ModelSettings, cache: ModelCache | None = None) -> Generator:
    """The configured backend; pass one shared ``cache`` so models are loaded only once."""
    if settings.backend == "openai":
        from redditbot.generation.openai_backend import OpenAIGenerator

        return OpenAIGenerator(settings)
    shared = cache if cache is not None else ModelCache()
    return ModelRouter(settings, shared, _transformers_factory(settings))


def _transformers_factory(settings: ModelSettings) -> Callable[[str, ModelCache], Generator]:
    def make(name: str, cache: ModelCache) -> Generator:
        from redditbot.generation import transformers_backend as hf

        # A model not yet converted is converted on this first load: its stages go to the log.
        location = hf.prepare_model(settings, name, progress=lambda line: log.info("%s", line))
        key = (str(location.path), settings.device, settings.dtype, settings.quantize_int8)
        loaded = cache.get(key, lambda: hf.load_model(location, settings))
        return hf.TransformersGenerator(loaded, settings)

    return make


class ModelRouter:
    """A ``Generator`` that sends each request to the model it names (or the default one)."""

    def __init__(
        self,
        settings: ModelSettings,
        cache: ModelCache,
        make_generator: Callable[[str, ModelCache], Generator],
    ) -> None:
        self.settings = settings
        self.cache = cache
        self._make_generator = make_generator
        self._generators: dict[str, Generator] = {}
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """Group requests by model, generate each group in batches, answer in request order."""
        by_model: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            by_model.setdefault(request.model or self.settings.name, []).append(index)
        results: dict[int, Generation] = {}
        for name, indices in by_model.items():
            generated = self.generator_for(name).generate([requests[i] for i in indices])
            results.update(zip(indices, generated, strict=True))
        return [results[i] for i in range(len(requests))]

    def generator_for(self, name: str) -> Generator:
        """The generator of model ``name``, created (and its model loaded) on first use."""
        with self._lock:
            if name not in self._generators:
                self._generators[name] = self._make_generator(name, self.cache)
            return self._generators[name]
