"""The real default model, fetched and converted through the same path as `model pull`."""

from __future__ import annotations

import argparse

import pytest

from redditbot.cli.model import pull_command
from redditbot.domain import GenerationRequest, SamplingParams
from redditbot.generation.factory import build_generator
from redditbot.generation.model_store import DEFAULT_MODEL_ID, default_model_dir, is_converted
from redditbot.generation.settings import ModelSettings
from tests.generation.test_commands import FakeContext


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_pull_converts_the_default_model_and_it_replies_to_a_thread(tmp_path, thread):
    settings = ModelSettings(cache_dir=tmp_path, device="cpu")
    ctx = FakeContext(settings)
    assert pull_command(ctx, argparse.Namespace(name=None, force=False)) == 0
    assert is_converted(default_model_dir(settings))
    assert any(line.startswith("converting SmolLM2-135M-Instruct.Q4_1.gguf") for line in ctx.lines)
    assert ctx.lines[-1].startswith(f"ready: {default_model_dir(settings)}")

    params = SamplingParams(temperature=0.7, max_new_tokens=48, seed=1, n=2)
    result = build_generator(settings).generate([GenerationRequest("real", thread, params=params)])
    generation = result[0]
    assert generation.model_id == DEFAULT_MODEL_ID
    assert generation.prompt.endswith("\nu/throwaway:")  # the transcript format, the default
    assert len(generation.candidates) == 2
    for candidate in generation.candidates:
        assert candidate.text.strip()
        assert "<|im_end|>" not in candidate.text and "<|im_start|>" not in candidate.text
        assert "\n" not in candidate.text  # a reply is the bot's line: it ends where the line does
        assert candidate.mean_logprob is not None and -6 < candidate.mean_logprob < 0
