"""The transformers backend on a tiny random model: real loading and batched decoding."""

from __future__ import annotations

from dataclasses import replace

import pytest

from redditbot.domain import ContextComment, GenerationRequest, SamplingParams
from redditbot.errors import ConfigError, ModelNotFoundError
from redditbot.generation import sampling
from redditbot.generation import transformers_backend as hf
from redditbot.generation.model_store import ModelLocation, locate_model
from redditbot.generation.settings import ModelSettings

GREEDY = SamplingParams(temperature=0.0, repetition_penalty=1.0, max_new_tokens=12)


def outputs(generations) -> list[list[tuple[str, int, str, float]]]:
    """Candidates comparable across batch shapes (logprobs differ in the last float bits)."""
    return [
        [(c.text, c.tokens_out, c.finish_reason, round(c.mean_logprob, 4)) for c in g.candidates]
        for g in generations
    ]


@pytest.fixture(scope="module")
def settings() -> ModelSettings:
    return ModelSettings(device="cpu", batch_size=8, max_context_tokens=512, prompt_format="chat")


@pytest.fixture(scope="module")
def loaded(tiny_model_dir, settings):
    return hf.load_model(locate_model(str(tiny_model_dir), settings), settings)


@pytest.fixture
def generator(loaded, settings):
    return hf.TransformersGenerator(loaded, settings)


def requests_for(thread, count: int, params: SamplingParams = GREEDY) -> list[GenerationRequest]:
    """Requests whose prompts differ in length, so batching needs padding."""
    return [
        GenerationRequest(
            key=f"job-{i}",
            context=replace(thread, target_body="What about memory? " * (i + 1)),
            params=params,
        )
        for i in range(count)
    ]


def test_load_reports_device_dtype_and_end_token(loaded, tiny_model_dir):
    assert loaded.device == "cpu"
    assert loaded.dtype == "float32"
    assert loaded.model_id == str(tiny_model_dir.resolve())
    assert loaded.eos_token_ids == (loaded.tokenizer.convert_tokens_to_ids("<|im_end|>"),)


def test_importing_the_adapter_switches_the_hub_off():
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_prefill_pads_on_the_left_and_keeps_each_rows_positions(loaded):
    rows = [
        sampling.DecodeRow(0, 0, (5, 6, 7, 8), GREEDY, seed=None),
        sampling.DecodeRow(1, 0, (5, 9), GREEDY, seed=None),
    ]
    logits, batch = sampling.prefill(loaded.model, rows, "cpu")
    assert batch.attention.tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]
    assert batch.positions.tolist() == [[3], [1]]
    assert batch.cache.get_seq_length() == 4 and logits.shape == (2, loaded.model.config.vocab_size)


def test_greedy_decoding_matches_transformers_generate(loaded):
    import torch

    prompt = loaded.tokenizer.encode("How do I read a file line by line?")
    row = sampling.DecodeRow(0, 0, tuple(prompt), GREEDY, seed=None)
    ours = sampling.decode_batch(loaded.model, [row], eos_token_ids=[-1], device="cpu")[0]
    reference = loaded.model.generate(
        torch.tensor([prompt]), max_new_tokens=12, do_sample=False, eos_token_id=None
    )
    assert list(ours.token_ids) == reference[0, len(prompt) :].tolist()
    assert ours.finish_reason == "length"


def test_batched_and_sequential_greedy_replies_are_identical(generator, thread):
    requests = requests_for(thread, 5)
    batched = generator.generate(requests)
    sequential = [generator.generate([request])[0] for request in requests]
    assert outputs(batched) == outputs(sequential)
    assert len({g.tokens_in for g in batched}) == 5  # padding really happened


def test_batch_size_caps_the_rows_decoding_at_once_with_the_same_output(loaded, thread):
    steps = []
    small = hf.TransformersGenerator(
        loaded, ModelSettings(device="cpu", batch_size=2), on_step=steps.append
    )
    big = hf.TransformersGenerator(loaded, ModelSettings(device="cpu", batch_size=8))
    requests = requests_for(thread, 5)
    assert outputs(small.generate(requests)) == outputs(big.generate(requests))
    assert max(steps) == 2 and sum(steps) == 5 * GREEDY.max_new_tokens


def test_seeded_sampling_is_reproducible_and_independent_of_batch_mates(generator, thread):
    sampled = SamplingParams(temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=16, seed=7)
    request = requests_for(thread, 1, sampled)[0]
    alone = generator.generate([request])[0]
    again = generator.generate([request])[0]
    in_batch = generator.generate([*requests_for(thread, 3, replace(sampled, seed=99)), request])
    other_seed = generator.generate([replace(request, params=replace(sampled, seed=8))])[0]
    assert outputs([alone]) == outputs([again]) == outputs(in_batch[-1:])
    assert outputs([alone]) != outputs([other_seed])


def test_candidates_share_the_prompt_unless_the_settings_say_not_to(loaded, thread):
    params = SamplingParams(temperature=1.0, top_k=0, max_new_tokens=10, seed=3, n=3)
    request = requests_for(thread, 1, params)[0]
    replies = {}
    for share in (True, False):
        gen = hf.TransformersGenerator(loaded, ModelSettings(device="cpu", share_prompts=share))
        assert gen.decoder.share_prompts is share
        gen.decoder.submit(gen._rows(0, request, gen._prompt(request)))
        gen.decoder.step()
        kind = sampling._SharedBatch if share else sampling._Batch
        assert isinstance(gen.decoder.batch, kind)
        while gen.decoder.busy:
            gen.decoder.step()
        replies[share] = outputs(gen.generate([request]))
    assert replies[True] == replies[False]  # the same candidates either way


def test_n_candidates_are_distinct_and_scored(generator, thread):
    params = SamplingParams(temperature=1.0, top_k=0, max_new_tokens=10, seed=1, n=3)
    result = generator.generate(requests_for(thread, 1, params))[0]
    assert len(result.candidates) == 3
    assert len({c.text for c in result.candidates}) == 3
    for candidate in result.candidates:
        assert candidate.mean_logprob is not None and candidate.mean_logprob < 0
        assert candidate.finish_reason == "length"
        assert candidate.tokens_out == 10


def test_top_k_one_is_greedy(generator, thread):
    top1 = SamplingParams(temperature=1.0, top_k=1, repetition_penalty=1.0, max_new_tokens=12)
    assert outputs(generator.generate(requests_for(thread, 1, top1))) == outputs(
        generator.generate(requests_for(thread, 1))
    )


def test_repetition_penalty_changes_greedy_output(generator, thread):
    penalised = replace(GREEDY, repetition_penalty=3.0, max_new_tokens=24)
    plain = generator.generate(requests_for(thread, 1, replace(GREEDY, max_new_tokens=24)))[0]
    assert outputs(generator.generate(requests_for(thread, 1, penalised))) != outputs([plain])


def test_stops_at_the_end_token(loaded, settings):
    import torch

    end = loaded.eos_token_ids[0]
    prompt = tuple(loaded.tokenizer.encode("Hello there"))
    # Force the end token as the fourth new token by making it the argmax only then.
    forced = _ForceToken(loaded.model, token=end, at_decode_call=2)
    row = sampling.DecodeRow(0, 0, prompt, GREEDY, seed=None)
    with torch.inference_mode():
        result = sampling.decode_batch(forced, [row], eos_token_ids=[end], device="cpu")[0]
    assert result.finish_reason == "stop"
    assert len(result.token_ids) == 4 and result.token_ids[-1] == end


class _ForceToken:
    """Wraps a model so that its ``at_decode_call``-th one-token step prefers ``token``."""

    def __init__(self, model, token: int, at_decode_call: int) -> None:
        self.model, self.token, self.at_call, self.calls = model, token, at_decode_call, 0
        self.config, self.forward = model.config, model.forward

    def __call__(self, **kwargs):
        out = self.model(**kwargs)
        if "attention_mask" not in kwargs:  # prompt passes, not decoding steps
            return out
        if self.calls == self.at_call:
            out.logits[:, -1, self.token] = 1e4
        self.calls += 1
        return out


def test_prompt_is_cut_by_tokens_keeping_the_newest_context(loaded, thread):
    long_chain = tuple(ContextComment(f"user{i}", f"comment number {i}.") for i in range(30))
    context = replace(thread, ancestors=long_chain)
    request = GenerationRequest("long", context, persona="Be kind.", params=GREEDY)
    for prompt_format, line in (
        ("chat", "u/user{i} replied:\n> comment number {i}."),
        ("transcript", "\nu/user{i}: comment number {i}.\n"),
    ):
        tight = ModelSettings(device="cpu", max_context_tokens=420, prompt_format=prompt_format)
        result = hf.TransformersGenerator(loaded, tight).generate([request])[0]
        assert result.tokens_in <= 420 - GREEDY.max_new_tokens
        assert result.tokens_in == len(loaded.tokenizer.encode(result.prompt))
        kept = [i for i in range(30) if line.format(i=i) in result.prompt]
        assert len(kept) >= 2 and kept == list(range(kept[0], 30))  # the newest, in order
        assert "What about memory usage with huge files?" in result.prompt


def test_transcript_is_a_raw_completion_ending_on_the_bots_line(loaded, thread):
    settings = ModelSettings(device="cpu", prompt_format="transcript")
    generator = hf.TransformersGenerator(loaded, settings)
    (request,) = requests_for(thread, 1)
    result = generator.generate([request])[0]
    assert "<|im_start|>" not in result.prompt  # no chat template
    target = request.context.target_body.strip()
    assert result.prompt.endswith(f"\nu/skeptic: {target}\nu/throwaway:")
    for candidate in result.candidates:
        assert "\n" not in candidate.text  # the bot's line ends the reply
        assert candidate.tokens_out >= 1
    assert generator.stop_token_ids  # the tokens made only of line breaks
    decode = loaded.tokenizer.decode
    assert all(decode([i]).strip(" ") and not decode([i]).strip() for i in generator.stop_token_ids)


def test_chat_template_is_used_when_the_model_has_one(generator, thread):
    prompt = generator.generate(requests_for(thread, 1))[0].prompt
    assert prompt.startswith("<|im_start|>system\n")
    assert prompt.endswith("<|im_start|>assistant\n")


def test_plain_turn_format_without_a_chat_template(tiny_plain_model_dir, settings, thread):
    loaded = hf.load_model(locate_model(str(tiny_plain_model_dir), settings), settings)
    prompt = hf.TransformersGenerator(loaded, settings).generate(requests_for(thread, 1))[0].prompt
    assert prompt.startswith("### System:\n")
    assert prompt.endswith("### Assistant:\n")


def test_generation_records_everything_that_produced_it(generator, loaded, thread):
    request = GenerationRequest("job-1", thread, persona="You love Python.", params=GREEDY)
    result = generator.generate([request])[0]
    assert result.key == "job-1"
    assert result.backend == "transformers"
    assert result.model_id == loaded.model_id
    assert "You love Python." in result.prompt
    assert result.params["max_new_tokens"] == 12 and result.params["temperature"] == 0.0
    assert result.params["device"] == "cpu" and result.params["dtype"] == "float32"
    assert result.latency_s > 0


def test_int8_option_quantises_linear_layers(tiny_model_dir, thread):
    settings = ModelSettings(device="cpu", quantize_int8=True)
    loaded = hf.load_model(locate_model(str(tiny_model_dir), settings), settings)
    assert loaded.quantized
    assert "quantized" in type(loaded.model.model.layers[0].mlp.down_proj).__module__
    reply = hf.TransformersGenerator(loaded, settings).generate(requests_for(thread, 1))[0]
    assert reply.candidates[0].tokens_out == GREEDY.max_new_tokens


def test_forced_cuda_without_cuda_is_a_config_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="no CUDA"):
        hf.resolve_device("cuda")
    assert hf.resolve_device("auto") == "cpu"
    assert str(hf.resolve_dtype("auto", "cpu")) == "torch.float32"


def test_missing_model_directory_says_how_to_get_one(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model pull"):
        locate_model(str(tmp_path / "nope"), ModelSettings())


def test_load_of_a_broken_directory_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="cannot load the model"):
        hf.load_model(ModelLocation(tmp_path, "broken"), ModelSettings(device="cpu"))


class _CountingModel:
    """Wraps a model and records the shape of each prompt pass it is asked to run."""

    def __init__(self, model) -> None:
        self.model, self.config, self.forward = model, model.config, model.forward
        self.prompt_passes: list[tuple[int, int]] = []

    def __call__(self, **kwargs):
        if "attention_mask" not in kwargs:  # prompt passes; decoding steps carry the mask
            self.prompt_passes.append(tuple(kwargs["input_ids"].shape))
        return self.model(**kwargs)


def test_shared_prefix_and_repeated_prompts_are_run_once(loaded):
    persona = tuple(range(10, 40))
    prompts = [persona + (50, 51, 52), persona + (60, 61, 62, 63, 64), persona + (50, 51, 52)]
    rows = [sampling.DecodeRow(i, 0, p, GREEDY, seed=None) for i, p in enumerate(prompts)]
    counting = _CountingModel(loaded.model)
    batched = sampling.decode_batch(counting, rows, eos_token_ids=[-1], device="cpu")
    # the persona once, then both distinct own parts in one call, right-padded to 5 tokens
    assert counting.prompt_passes == [(1, 30), (2, 5)]
    alone = sampling.decode_batch(loaded.model, rows[1:2], eos_token_ids=[-1], device="cpu")
    assert batched[0].token_ids == batched[2].token_ids
    assert batched[1].token_ids == alone[0].token_ids


def test_grouped_prefill_gives_each_prompt_what_it_gets_alone(loaded):
    import torch

    persona = tuple(range(10, 30))
    prompts = [persona + tuple(range(100, 100 + n)) for n in (7, 1, 12, 3, 9, 5, 2)]
    rows = [sampling.DecodeRow(i, 0, p, GREEDY, seed=None) for i, p in enumerate(prompts)]
    counting = _CountingModel(loaded.model)
    logits, batch = sampling.prefill(counting, rows, "cpu")
    groups = sampling.CPU_PREFILL_GROUP
    assert len(counting.prompt_passes) == 1 + -(-len(prompts) // groups)  # prefix + groups
    width = max(len(p) for p in prompts)
    for i, prompt in enumerate(prompts):  # against one plain forward pass of the whole prompt
        alone = sampling.forward(loaded.model, None, input_ids=torch.tensor([prompt]))
        torch.testing.assert_close(logits[i], alone.logits[0, -1], atol=1e-4, rtol=1e-4)
        real = slice(width - len(prompt), width)  # left-padded in the batch
        own_cache = sampling._cache_of(alone)
        for layer, own in zip(batch.cache.layers, own_cache.layers, strict=True):
            torch.testing.assert_close(layer.keys[i, :, real], own.keys[0], atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(
                layer.values[i, :, real], own.values[0], atol=1e-4, rtol=1e-4
            )


def test_decoding_writes_into_a_preallocated_cache(loaded):
    import torch

    rows = [sampling.DecodeRow(0, 0, (5, 6, 7, 8), GREEDY, seed=None)]
    _, batch = sampling.prefill(loaded.model, rows, "cpu")
    layer = batch.cache.layers[0]
    storage = layer.keys.untyped_storage().data_ptr()
    tokens = torch.tensor([9])
    for _ in range(GREEDY.max_new_tokens - 1):
        batch.step(loaded.model, tokens)
    assert batch.cache.get_seq_length() == 4 + GREEDY.max_new_tokens - 1
    assert layer.keys.untyped_storage().data_ptr() == storage  # grown in place, never copied


def _decode_alone(model, row, prefixes=None):
    decoder = sampling.ContinuousDecoder(
        model, eos_token_ids=[-1], device="cpu", max_rows=4, prefixes=prefixes
    )
    [pending] = decoder.submit([row])
    while decoder.busy:
        decoder.step()
    return pending.result.token_ids


def test_a_prompt_that_begins_like_a_recent_one_runs_only_its_new_tokens(loaded):
    """The persona a subreddit's prompts share runs once; a regeneration's identical prompt
    runs one token; and what is decoded is what it would be with nothing kept."""
    persona = tuple(range(10, 50))
    first = sampling.DecodeRow(0, 0, persona + (50, 51, 52, 53), GREEDY, seed=None)
    second = sampling.DecodeRow(0, 0, persona + (60, 61, 62), GREEDY, seed=None)
    counting = _CountingModel(loaded.model)
    prefixes = sampling.PrefixCache()
    kept = [_decode_alone(counting, row, prefixes) for row in (first, second, first)]
    # one prompt: all but its last token as the prefix, then the last token on top of it
    assert counting.prompt_passes == [(1, 43), (1, 1), (1, 2), (1, 1), (1, 1)]
    assert prefixes.tokens_reused == 40 + 43
    fresh = [_decode_alone(loaded.model, row) for row in (first, second, first)]
    assert kept == fresh
    # and the logits a prompt starts from are the ones it gets with nothing kept
    import torch

    with_kept, _ = sampling.prefill(loaded.model, [second], "cpu", prefixes)
    alone, _ = sampling.prefill(loaded.model, [second], "cpu")
    torch.testing.assert_close(with_kept, alone, atol=1e-4, rtol=1e-4)
    only_first = sampling.PrefixCache()
    only_first.put(first.prompt_ids[:-1], prefixes.entries[first.prompt_ids[:-1]])
    with_cut, _ = sampling.prefill(loaded.model, [second], "cpu", only_first)  # 40 of its 43
    torch.testing.assert_close(with_cut, alone, atol=1e-4, rtol=1e-4)


def test_the_prefix_cache_keeps_at_most_its_tokens_most_recent_first(loaded):
    prefixes = sampling.PrefixCache(max_tokens=60)
    rows = [sampling.DecodeRow(0, 0, tuple(range(s, s + 25)), GREEDY, seed=None)
            for s in (100, 200, 300)]  # fmt: skip
    for row in rows:
        _decode_alone(loaded.model, row, prefixes)
    assert list(prefixes.entries) == [rows[1].prompt_ids[:-1], rows[2].prompt_ids[:-1]]
    assert prefixes.longest(rows[0].prompt_ids) == (0, None)  # dropped: it runs whole again
