"""Continuous batching on a tiny random model: rows join between steps and leave when done."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from redditbot.domain import GenerationRequest, SamplingParams
from redditbot.generation import sampling
from redditbot.generation import transformers_backend as hf
from redditbot.generation.model_store import locate_model
from redditbot.generation.settings import ModelSettings

GREEDY = SamplingParams(temperature=0.0, repetition_penalty=1.0, max_new_tokens=10)
SAMPLED = SamplingParams(temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=10, seed=7)
NO_END = [-1]  # no token ends a row: lengths are exact, whatever the random model says


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    settings = ModelSettings(device="cpu", max_context_tokens=512)
    return hf.load_model(locate_model(str(tiny_model_dir), settings), settings)


def row(index: int, prompt_length: int, params: SamplingParams = GREEDY) -> sampling.DecodeRow:
    """Prompts share a prefix (as persona and rules do) and differ in length."""
    prompt = tuple(range(10, 30)) + tuple(range(100 + index, 100 + index + prompt_length))
    return sampling.DecodeRow(index, 0, prompt, params, params.seed)


@pytest.fixture(params=[True, False], ids=["shared-prompts", "own-copies"])
def share(request) -> bool:
    """Both ways to hold the prompts' KV: once per prompt (Llama's), a copy per row (others')."""
    return request.param


def decoder(loaded, max_rows: int = 8, *, share: bool = True) -> sampling.ContinuousDecoder:
    return sampling.ContinuousDecoder(
        loaded.model, eos_token_ids=NO_END, device="cpu", max_rows=max_rows, share_prompts=share
    )


def alone(loaded, one: sampling.DecodeRow) -> tuple[int, ...]:
    """The row decoded by itself, each row with its own copy of its prompt's KV."""
    dec = decoder(loaded, max_rows=1, share=False)
    (pending,) = dec.submit([one])
    while dec.busy:
        dec.step()
    return pending.result.token_ids


def run(dec, arrivals: dict[int, list[sampling.DecodeRow]]) -> dict[int, list]:
    """Step ``dec`` until idle, submitting ``arrivals[step]`` before that step."""
    pending, left = {}, dict(arrivals)
    while dec.busy or left:
        for one in left.pop(dec.steps, []):
            pending[one.request_index] = dec.submit([one])[0]
        if not dec.busy:  # an idle decoder takes no steps: a later arrival would never come
            raise AssertionError(f"idle at step {dec.steps} before the arrivals at {sorted(left)}")
        dec.step()
    return pending


def test_a_row_arriving_mid_batch_is_answered_before_the_batch_ends(loaded, share):
    dec = decoder(loaded, share=share)
    long = [row(i, 3 + i, replace(GREEDY, max_new_tokens=30)) for i in range(3)]
    running = dec.submit(long)
    for _ in range(5):
        dec.step()
    late = dec.submit([row(9, 12, replace(GREEDY, max_new_tokens=4))])[0]
    while not late.done:
        dec.step()
    assert dec.steps == 5 + 4  # it joined at the very next step and left as soon as it was done
    assert not any(r.done for r in running) and len(dec.active) == 3
    assert late.result.token_ids == alone(loaded, row(9, 12, replace(GREEDY, max_new_tokens=4)))


def test_greedy_rows_joining_at_any_step_match_the_sequential_decoder(loaded, share):
    # later arrivals have longer prompts (the running batch is padded to them) and shorter ones
    arrivals = {0: [row(0, 2), row(1, 5)], 3: [row(2, 14)], 4: [row(3, 1)], 11: [row(4, 6)]}
    pending = run(decoder(loaded, share=share), arrivals)
    for rows in arrivals.values():
        for one in rows:
            assert pending[one.request_index].result.token_ids == alone(loaded, one)


def test_seeded_output_does_not_depend_on_batch_company_or_arrival(loaded, share):
    target = row(0, 4, SAMPLED)
    own = alone(loaded, target)
    company = [row(i, 2 + 3 * i, replace(SAMPLED, seed=100 + i)) for i in range(1, 4)]
    first = run(decoder(loaded, share=share), {0: [target, company[0]], 2: company[1:]})
    late = run(decoder(loaded, share=share), {0: company[:2], 3: [target], 5: company[2:]})
    assert first[0].result.token_ids == late[0].result.token_ids == own
    assert alone(loaded, replace(target, seed=8)) != own  # the seed really drives it


def test_waiting_rows_take_a_place_as_soon_as_one_is_free(loaded, share):
    dec = decoder(loaded, max_rows=2, share=share)
    short, long = replace(GREEDY, max_new_tokens=3), replace(GREEDY, max_new_tokens=8)
    pending = dec.submit([row(0, 2, short), row(1, 4, long), row(2, 6, short), row(3, 1, short)])
    sizes = []
    while dec.busy:
        sizes.append(dec.step())
    # row 0 leaves after 3 steps and row 2 takes its place, row 3 that one's after 3 more; the
    # long row 1 ends with step 8, and row 3 finishes alone
    assert sizes == [2] * 8 + [1]
    assert [p.result.token_ids for p in pending[2:]] == [
        alone(loaded, row(2, 6, short)),
        alone(loaded, row(3, 1, short)),
    ]


def test_a_batch_that_never_empties_drops_the_padding_no_row_needs(loaded, share):
    # a row every 3 steps, each 6 tokens long: the batch is never empty, so without trimming its
    # width would grow by a column a step (20 steps in: 60 columns of padding)
    short = replace(GREEDY, max_new_tokens=6)
    arrivals = {step: [row(step, 1 + step % 7, short)] for step in range(0, 60, 3)}
    dec, pending, widths = decoder(loaded, max_rows=4, share=share), {}, []
    while dec.busy or arrivals:
        for one in arrivals.pop(dec.steps, []):
            pending[one.request_index] = (one, dec.submit([one])[0])
        dec.step()
        if dec.batch is not None:
            widths.append(dec.batch.width)
            assert dec.batch.cache.get_seq_length() == widths[-1]
    # each row's prompt and reply, or (shared prompts, held apart) its reply alone
    longest = 6 if share else 20 + 7 + 6
    assert len(widths) > 55 and max(widths) <= longest
    for one, done in pending.values():  # and nothing a row needed was dropped
        assert done.result.token_ids == alone(loaded, one)


def candidates(index: int, prompt_length: int, n: int = 3) -> list[sampling.DecodeRow]:
    """A request's ``n`` sampled candidates: one prompt, a seed each."""
    one = row(index, prompt_length, SAMPLED)
    return [replace(one, candidate_index=k, seed=50 * index + k) for k in range(n)]


def test_candidates_of_a_request_share_one_copy_of_its_prompt(loaded):
    first, second = candidates(0, 9), candidates(1, 4)
    dec = decoder(loaded, share=True)
    pending = dec.submit(first)
    dec.step()
    pending += dec.submit(second)  # joins a running batch
    dec.step()
    layer = dec.batch.cache.layers[0]
    assert dec.batch.spans == [(0, 3), (3, 6)] and dec.batch.prompts_held == 2
    # one copy of each prompt, [kv heads, its length, dim]; the rows hold their own tokens only
    assert [p[0].shape[1] for p in layer.prompts] == [20 + 9, 20 + 4]
    assert layer.keys.shape[0] == 6 and layer.get_seq_length() == 2
    while dec.busy:
        dec.step()
    for one, done in zip(first + second, pending, strict=True):
        assert done.result.token_ids == alone(loaded, one)


def test_a_prompt_is_let_go_when_its_last_row_leaves(loaded):
    short = [replace(r, params=replace(SAMPLED, max_new_tokens=3)) for r in candidates(0, 5, 2)]
    dec = decoder(loaded, share=True)
    pending = dec.submit(short + candidates(1, 6, 2))
    for _ in range(3):
        dec.step()
    assert all(p.done for p in pending[:2]) and not any(p.done for p in pending[2:])
    assert dec.batch.spans == [(0, 2)] and dec.batch.prompts_held == 1
    assert dec.batch.cache.layers[0].prompts[0][0].shape[1] == 20 + 6
    while dec.busy:
        dec.step()
    expected = [alone(loaded, r) for r in candidates(1, 6, 2)]
    assert [p.result.token_ids for p in pending[2:]] == expected


def test_rows_share_a_prompt_only_on_models_whose_attention_reads_it(loaded, tiny_model_dir):
    assert decoder(loaded).share_prompts  # a Llama: switched to the attention that reads it
    assert loaded.model.config._attn_implementation == sampling.SHARED_PROMPT_ATTENTION
    from transformers import AutoModelForCausalLM

    eager = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="eager")
    dec = sampling.ContinuousDecoder(eager, eos_token_ids=NO_END, device="cpu", max_rows=4)
    assert not dec.share_prompts and eager.config._attn_implementation == "eager"
    greedy = [replace(r, params=GREEDY) for r in candidates(0, 5)]
    pending = dec.submit(greedy)
    while dec.busy:
        dec.step()
    assert [p.result.token_ids for p in pending] == [alone(loaded, r) for r in greedy]


@pytest.fixture
def generator(loaded):
    return hf.TransformersGenerator(loaded, ModelSettings(device="cpu", batch_size=8))


def test_a_request_from_another_caller_joins_a_running_generate_call(loaded, thread):
    long = SamplingParams(temperature=0.0, repetition_penalty=1.0, max_new_tokens=40)
    short = replace(long, max_new_tokens=3)
    late_done_at: list[int] = []
    answers = {}

    def late_caller() -> None:
        request = GenerationRequest("late", replace(thread, target_body="Late one?"), params=short)
        answers["late"] = gen.generate([request])[0]
        late_done_at.append(gen.decoder.steps)

    callers: list[threading.Thread] = []
    queued = threading.Event()

    def on_step(rows: int) -> None:  # the third step of the big call lets another caller in
        if gen.decoder.steps == 3 and not callers:
            callers.append(threading.Thread(target=late_caller))
            callers[0].start()
            # its rows are queued before the next step: from here on, its answer may come only
            # from the decoder letting it join (not from thread timing)
            assert queued.wait(30)

    gen = hf.TransformersGenerator(
        loaded, ModelSettings(device="cpu", batch_size=8), on_step=on_step
    )
    submit = gen.decoder.submit

    def submit_and_tell(rows):
        pending = submit(rows)
        if callers:
            queued.set()
        return pending

    gen.decoder.submit = submit_and_tell
    batch = [
        GenerationRequest(f"job-{i}", replace(thread, target_body="Memory? " * i), params=long)
        for i in range(1, 4)
    ]
    results = gen.generate(batch)
    callers[0].join()
    batch_end = gen.decoder.steps
    assert [c.tokens_out for r in results for c in r.candidates] == [40, 40, 40]
    assert answers["late"].candidates[0].tokens_out == 3
    assert late_done_at[0] < batch_end  # answered while the batch was still decoding


class _Crashing:
    """A model whose ``crash_at``-th call raises, as an out-of-memory error would."""

    def __init__(self, model, crash_at: int) -> None:
        self.model, self.config, self.forward = model, model.config, model.forward
        self.calls, self.crash_at = 0, crash_at

    def __call__(self, **kwargs):
        self.calls += 1
        if self.calls == self.crash_at:
            raise RuntimeError("out of memory")
        return self.model(**kwargs)


def test_a_crash_mid_batch_fails_its_rows_and_leaves_the_decoder_usable(loaded, thread):
    crashing = replace(loaded, model=_Crashing(loaded.model, crash_at=4))
    gen = hf.TransformersGenerator(crashing, ModelSettings(device="cpu", batch_size=8))
    request = GenerationRequest("job", thread, params=GREEDY)
    with pytest.raises(RuntimeError, match="out of memory"):
        gen.generate([request])
    assert not gen.decoder.busy
    assert gen.generate([request])[0].candidates[0].tokens_out > 0


class _FailsPrefill:
    """A model whose prompt runs (more than one token a row) raise once ``armed``."""

    def __init__(self, model) -> None:
        self.model, self.config, self.forward, self.armed = (
            model,
            model.config,
            model.forward,
            False,
        )

    def __call__(self, **kwargs):
        if self.armed and kwargs["input_ids"].shape[1] > 1:
            raise RuntimeError("out of memory")
        return self.model(**kwargs)


def test_rows_whose_join_failed_fail_too_and_nobody_waits_for_them(loaded, share):
    failing = _FailsPrefill(loaded.model)
    dec = sampling.ContinuousDecoder(
        failing, eos_token_ids=NO_END, device="cpu", max_rows=4, share_prompts=share
    )
    (running,) = dec.submit([row(0, 3)])
    dec.step()
    (joining,) = dec.submit([row(1, 5)])
    failing.armed = True
    with pytest.raises(RuntimeError, match="out of memory") as crash:
        dec.step()
    dec.abort(crash.value)  # what the generator does with a crash
    # the joining row was neither waiting nor decoding: without its own error, its caller
    # would wait for it for ever
    assert joining.error is crash.value and running.error is crash.value and not dec.busy


def test_a_shared_step_that_misses_the_shared_attention_is_an_error(loaded):
    dec = decoder(loaded, share=True)
    dec.submit(candidates(0, 5))
    dec.step()
    loaded.model.set_attn_implementation("sdpa")  # each row's own tokens, without the prompt
    try:
        with pytest.raises(RuntimeError, match="without the shared-prompt attention"):
            dec.step()
    finally:
        loaded.model.set_attn_implementation(sampling.SHARED_PROMPT_ATTENTION)


def test_half_precision_models_attend_to_shared_prompts_in_float32(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM

    half = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).eval()
    greedy = [replace(r, params=GREEDY) for r in candidates(0, 5)] + [row(1, 8)]
    out = {}
    for share in (True, False):
        dec = sampling.ContinuousDecoder(
            half, eos_token_ids=NO_END, device="cpu", max_rows=8, share_prompts=share
        )
        pending = dec.submit(greedy)
        dec.step()
        if share:  # bf16 scores lose what sdpa's kernels keep: the cache is float32
            layer = dec.batch.cache.layers[0]
            assert layer.keys.dtype == layer.prompts[0][0].dtype == torch.float32
        while dec.busy:
            dec.step()
        out[share] = [p.result.token_ids for p in pending]
    assert out[True] == out[False]


class _AlwaysEnd:
    """A model whose every pass prefers the end token ``token`` above all others."""

    def __init__(self, model, token: int) -> None:
        self.model, self.config, self.forward, self.token = (
            model,
            model.config,
            model.forward,
            token,
        )

    def __call__(self, **kwargs):
        out = self.model(**kwargs)
        out.logits[..., self.token] = 1e4
        return out


def test_the_minimum_length_counts_from_each_rows_own_first_token(loaded):
    end = loaded.eos_token_ids[0]
    dec = sampling.ContinuousDecoder(
        _AlwaysEnd(loaded.model, end), eos_token_ids=[end], device="cpu", max_rows=8,
        min_new_tokens=1,
    )  # fmt: skip
    pending = run(dec, {0: [row(0, 3)], 1: [row(1, 5)], 2: [row(2, 2)]})
    for done in pending.values():  # late rows too: one token first, then the end token
        assert done.result.finish_reason == "stop"
        assert len(done.result.token_ids) == 2 and done.result.token_ids[-1] == end
