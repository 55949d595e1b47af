"""build_generator, the model cache and per-request model routing (tiny real models)."""

from __future__ import annotations

import threading

import pytest

from redditbot.domain import Generation, GenerationRequest, SamplingParams
from redditbot.generation.factory import ModelCache, ModelRouter, build_generator
from redditbot.generation.settings import ModelSettings

GREEDY = SamplingParams(temperature=0.0, max_new_tokens=4)


class RecordingGenerator:
    """Fake backend that records which requests it was given."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.batches: list[list[str]] = []

    def generate(self, requests):
        self.batches.append([r.key for r in requests])
        return [Generation(r.key, self.name, "p", {}, (), 0, 0.0) for r in requests]


def test_model_cache_loads_each_key_once_even_under_concurrency():
    cache, loads = ModelCache(), []
    barrier = threading.Barrier(4)

    def load():
        loads.append(1)
        return object()

    def worker(results):
        barrier.wait()
        results.append(cache.get("m", load))

    results: list[object] = []
    threads = [threading.Thread(target=worker, args=(results,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len({id(r) for r in results}) == 1
    assert cache.get("other", lambda: "second") == "second" and len(cache) == 2


def test_an_empty_cache_is_still_truthy_so_callers_keep_sharing_it():
    cache = ModelCache()
    assert (cache or ModelCache()) is cache


def test_router_groups_requests_by_model_and_keeps_their_order(thread):
    made: dict[str, RecordingGenerator] = {}

    def make(name, cache):
        return made.setdefault(name, RecordingGenerator(name))

    router = ModelRouter(ModelSettings(name="base"), ModelCache(), make)
    requests = [
        GenerationRequest("a", thread),
        GenerationRequest("b", thread, model="big"),
        GenerationRequest("c", thread),
        GenerationRequest("d", thread, model="big"),
    ]
    results = router.generate(requests)
    assert [(g.key, g.model_id) for g in results] == [
        ("a", "base"), ("b", "big"), ("c", "base"), ("d", "big"),
    ]  # fmt: skip
    assert made["base"].batches == [["a", "c"]] and made["big"].batches == [["b", "d"]]
    router.generate(requests[:1])
    assert len(made) == 2  # generators are created once per model


def test_build_generator_shares_one_loaded_model_between_callers(tiny_model_dir, thread):
    cache = ModelCache()
    first = build_generator(ModelSettings(name=str(tiny_model_dir), device="cpu"), cache)
    second = build_generator(
        ModelSettings(name=str(tiny_model_dir), device="cpu", persona="Other"), cache
    )
    request = GenerationRequest("k", thread, params=GREEDY)
    assert first.generate([request])[0].candidates[0].tokens_out == 4
    second.generate([request])
    assert len(cache) == 1
    assert (
        first.generator_for(str(tiny_model_dir)).loaded
        is second.generator_for(str(tiny_model_dir)).loaded
    )


def test_per_request_model_override_uses_that_model(tiny_model_dir, tiny_plain_model_dir, thread):
    cache = ModelCache()
    # the chat format, where each model's own template shows (a transcript is the same for all)
    settings = ModelSettings(name=str(tiny_model_dir), device="cpu", prompt_format="chat")
    generator = build_generator(settings, cache)
    results = generator.generate(
        [
            GenerationRequest("chat", thread, params=GREEDY),
            GenerationRequest("plain", thread, params=GREEDY, model=str(tiny_plain_model_dir)),
        ]
    )
    assert results[0].model_id == str(tiny_model_dir.resolve())
    assert results[1].model_id == str(tiny_plain_model_dir.resolve())
    assert results[1].prompt.startswith("### System:")
    assert len(cache) == 2


def test_openai_backend_is_chosen_by_settings():
    from redditbot.generation.openai_backend import OpenAIGenerator

    assert isinstance(build_generator(ModelSettings(backend="openai")), OpenAIGenerator)


def test_unknown_local_model_fails_on_first_use(tmp_path, thread):
    from redditbot.errors import ModelNotFoundError

    generator = build_generator(ModelSettings(name=str(tmp_path / "missing"), device="cpu"))
    with pytest.raises(ModelNotFoundError):
        generator.generate([GenerationRequest("k", thread)])
