"""A reply ends at a sentence end past a share of its token limit, not cut at the limit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from redditbot.domain import GenerationRequest, SamplingParams
from redditbot.generation import sampling
from redditbot.generation import transformers_backend as hf
from redditbot.generation.model_store import locate_model
from redditbot.generation.settings import ModelSettings

LIMIT = 16
GREEDY = SamplingParams(temperature=0.0, repetition_penalty=1.0, max_new_tokens=LIMIT)
ENDS = sampling.NaturalEnd(sentence_ends=frozenset({5}), word_starts=frozenset({7}))


def feed(tokens, natural_end_after, natural=ENDS) -> sampling.PendingRow:
    """A pending row given ``tokens`` one by one until it finishes."""
    row = sampling.DecodeRow(0, 0, (1,), GREEDY, None, natural_end_after=natural_end_after)
    pending = sampling.PendingRow()
    for token in tokens:
        if not pending.add(row, token, -1.0, frozenset({99}), natural):
            break
    return pending


def test_a_new_word_after_a_sentence_end_ends_the_row_and_is_dropped():
    done = feed([1, 2, 3, 5, 7, 8, 9], natural_end_after=3)
    assert done.result.finish_reason == "stop"
    assert done.result.token_ids == (1, 2, 3, 5)  # the "." kept, the next word dropped
    assert done.result.mean_logprob == -1.0


def test_no_natural_end_before_the_share_of_the_limit():
    done = feed([1, 5, 7, 2, 3, 5, 7, 8], natural_end_after=4)
    assert done.result.token_ids == (1, 5, 7, 2, 3, 5)


def test_a_sentence_end_inside_a_word_does_not_end_the_row():
    # "3" "." "5": the token after the "." does not start a word
    done = feed([1, 2, 3, 5, 4, *[6] * LIMIT], natural_end_after=1)
    assert done.result.finish_reason == "length" and len(done.result.token_ids) == LIMIT


def test_without_a_threshold_only_the_end_token_and_the_limit_end_a_row():
    assert feed([1, 5, 7, *[6] * LIMIT], natural_end_after=None).result.finish_reason == "length"
    assert feed([1, 5, 7, 99], natural_end_after=None).result.token_ids == (1, 5, 7, 99)


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    settings = ModelSettings(device="cpu", max_context_tokens=512, prompt_format="chat")
    return hf.load_model(locate_model(str(tiny_model_dir), settings), settings)


def test_the_tokenizer_gives_sentence_ends_and_word_starts(loaded):
    natural = hf.HFPromptTokenizer(loaded.tokenizer).natural_end()
    vocab = loaded.tokenizer.get_vocab()
    assert {vocab["."], vocab["?"]} <= natural.sentence_ends
    assert vocab["Ġ"] in natural.word_starts
    assert vocab["a"] not in natural.sentence_ends | natural.word_starts
    assert vocab["."] not in natural.word_starts


class _ForceTokens:
    """Wraps a model so that its k-th one-token step prefers ``forced[k]``."""

    def __init__(self, model, forced: dict[int, int]) -> None:
        self.model, self.forced, self.calls = model, forced, 0
        self.config, self.forward = model.config, model.forward

    def __call__(self, **kwargs):
        out = self.model(**kwargs)
        if "attention_mask" not in kwargs:  # prompt passes, not decoding steps
            return out
        if self.calls in self.forced:
            out.logits[:, -1, self.forced[self.calls]] = 1e4
        self.calls += 1
        return out


def _generate(loaded, thread, natural_end: float):
    vocab = loaded.tokenizer.get_vocab()
    dot, space = vocab["."], vocab["Ġ"]
    # step k picks token k + 2: "." then a new word as tokens 2-3 and again as tokens 6-7
    forced = _ForceTokens(loaded.model, {0: dot, 1: space, 4: dot, 5: space})
    settings = ModelSettings(
        device="cpu", max_context_tokens=512, prompt_format="chat", natural_end=natural_end
    )
    generator = hf.TransformersGenerator(replace(loaded, model=forced), settings)
    request = GenerationRequest(key="k", context=thread, params=GREEDY)
    return generator.generate([request])[0].candidates[0]


def test_the_generator_ends_a_reply_at_the_first_sentence_end_past_the_share(loaded, thread):
    # natural_end 0.25 of 16 tokens: not at the "." that is token 2, at the one that is token 6
    candidate = _generate(loaded, thread, natural_end=0.25)
    assert candidate.finish_reason == "stop" and candidate.tokens_out == 6
    assert candidate.text.endswith(".")


def test_natural_end_one_leaves_the_reply_to_the_limit(loaded, thread):
    candidate = _generate(loaded, thread, natural_end=1.0)
    assert candidate.finish_reason == "length" and candidate.tokens_out == LIMIT


def test_by_default_a_reply_may_end_naturally_past_half_its_limit(loaded, thread):
    settings = ModelSettings(device="cpu", max_context_tokens=512, prompt_format="chat")
    generator = hf.TransformersGenerator(loaded, settings)
    request = GenerationRequest(key="k", context=thread, params=GREEDY)
    rows = generator._rows(0, request, "a prompt")
    assert generator.decoder.natural_end.sentence_ends  # the tokenizer's, not none
    assert [row.natural_end_after for row in rows] == [LIMIT // 2]
