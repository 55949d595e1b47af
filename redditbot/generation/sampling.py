"""Batched decoding with per-row sampling parameters and per-row seeds (torch only).

The prompts are run (their shared prefix once, then in small right-padded groups), then the
rows' KV caches are stacked left-padded, so that every row's last token sits in the last column;
each row keeps its own position ids, so padding does not shift them. Each step samples every
row with its own temperature, top-k, top-p, repetition penalty and random generator, which makes
a seeded row's output independent of the rows it shares a batch with.

Batching is continuous (``ContinuousDecoder``): rows join the running batch between decoding
steps, their caches spliced in, and leave it as soon as they finish, so a request that arrives
while a batch is decoding waits one step rather than the whole batch.

Rows that continue the same prompt (a request's candidates) share one copy of its keys and
values (``_SharedBatch``, for the model families in ``SHARED_PROMPT_MODELS``): each row holds
only the tokens it generated, and one attention call reads a prompt once for all its rows.
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.cache_utils import DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

from redditbot.domain import SamplingParams


@dataclass(frozen=True)
class DecodeRow:
    """One sequence to continue: a candidate of a request."""

    request_index: int
    candidate_index: int
    prompt_ids: tuple[int, ...]
    params: SamplingParams
    seed: int | None
    natural_end_after: int | None = None  # tokens after which a sentence end ends the row


@dataclass(frozen=True)
class NaturalEnd:
    """A natural end before the token limit: once a row has more than its ``natural_end_after``
    tokens, a token that starts a new word right after one that ends a sentence ends the row
    (that word's token is dropped). A token alone cannot tell "Done." from "3.5": the next one
    can."""

    sentence_ends: frozenset[int]  # tokens whose text ends a sentence (".", "!", "?\"", ...)
    word_starts: frozenset[int]  # tokens whose text starts with whitespace


NO_NATURAL_END = NaturalEnd(frozenset(), frozenset())


@dataclass(frozen=True)
class RowResult:
    """What was generated for a row: tokens (with the end token, if any) and their score."""

    token_ids: tuple[int, ...]
    mean_logprob: float | None
    finish_reason: str  # "stop" (end token, natural end) | "length" (max_new_tokens reached)


@torch.inference_mode()
def decode_batch(
    model,
    rows: Sequence[DecodeRow],
    *,
    eos_token_ids: Sequence[int],
    device: str,
    min_new_tokens: int = 0,
) -> list[RowResult]:
    """Generate a continuation for every row in one batch with a KV cache.

    Rows that finish leave the batch at once, so the remaining steps cost less. No row ends
    (picks an end token) before ``min_new_tokens`` tokens: an empty reply is no reply.
    """
    decoder = ContinuousDecoder(
        model, eos_token_ids=eos_token_ids, device=device, max_rows=len(rows),
        min_new_tokens=min_new_tokens,
    )  # fmt: skip
    pending = decoder.submit(rows)
    while decoder.busy:
        decoder.step()
    return [row.result for row in pending]


class ContinuousDecoder:
    """Rows that come and go: new rows join between decoding steps, finished rows leave at once.

    ``submit`` queues rows; each ``step`` first admits queued rows while the batch has fewer
    than ``max_rows`` (their prompts prefilled, their caches spliced into the running batch's),
    then picks one token for every row. A row joining late waits one step, not a whole batch.
    Each row keeps its own positions, sampler state and generator, so its tokens depend on its
    prompt, parameters and seed alone, never on when it joined or on the rows beside it.
    No row ends (picks an end token) before ``min_new_tokens`` tokens: an empty reply is no reply.
    """

    def __init__(
        self, model, *, eos_token_ids: Sequence[int], device: str, max_rows: int,
        min_new_tokens: int = 0, natural_end: NaturalEnd = NO_NATURAL_END,
        prefixes: PrefixCache | None = None, share_prompts: bool = True,
    ) -> None:  # fmt: skip
        self.model, self.device, self.max_rows = model, device, max(1, max_rows)
        # one copy of a prompt's KV for all the rows continuing it, where the model allows
        self.share_prompts = share_prompts and use_shared_prompts(model)
        self.prefixes = prefixes  # recent prompts' KV, for prompts that begin the same way
        self.natural_end = natural_end
        self.eos = frozenset(eos_token_ids)
        self.eos_index = torch.tensor(
            sorted(i for i in self.eos if i >= 0), dtype=torch.long, device=device
        )
        self.min_new_tokens = min_new_tokens
        self.waiting: deque[tuple[DecodeRow, PendingRow]] = deque()
        self._waiting_lock = threading.Lock()  # submit comes from any thread, step from one
        self.active: list[tuple[DecodeRow, PendingRow]] = []  # in batch-row order
        self.batch: _Batch | _SharedBatch | None = None
        self.sampler: RowSampler | None = None
        self.logits = None  # [active rows, vocab]: what each row's next token is picked from
        self.steps = 0

    def submit(self, rows: Sequence[DecodeRow]) -> list[PendingRow]:
        """Queue rows to join at the next step; each one's ``result`` is set when it finishes.
        Safe to call from any thread, also while another thread is inside ``step``."""
        pending = [PendingRow() for _ in rows]
        with self._waiting_lock:
            self.waiting.extend(zip(rows, pending, strict=True))
        return pending

    @property
    def busy(self) -> bool:
        return bool(self.waiting or self.active)

    @torch.inference_mode()
    def step(self) -> int:
        """Admit waiting rows, pick one token per row, drop the rows that finished.

        Returns how many rows this step decoded."""
        self._admit()
        decoded = len(self.active)
        if not decoded:
            return 0
        tokens, logprobs = self.sampler.pick(self._no_early_end(self.logits))
        steps = zip(self.active, tokens.tolist(), logprobs.tolist(), strict=True)
        ends = self.eos, self.natural_end
        keep = [i for i, ((row, out), t, lp) in enumerate(steps) if out.add(row, t, lp, *ends)]
        self.steps += 1
        if not keep:
            self.active, self.batch, self.sampler, self.logits = [], None, None, None
            return decoded
        if len(keep) < len(self.active):
            index = torch.tensor(keep, device=self.device)
            tokens = tokens[index]
            self.batch.select(index)
            self.sampler.select(index)
            self.active = [self.active[i] for i in keep]
        self.logits = self.batch.step(self.model, tokens)
        return decoded

    def abort(self, error: Exception) -> None:
        """Fail every row in flight or waiting with ``error`` and start afresh (after a crash)."""
        with self._waiting_lock:
            waiting, self.waiting = list(self.waiting), deque()
        for _, out in [*self.active, *waiting]:
            out.error = error
        self.active, self.batch, self.sampler, self.logits = [], None, None, None

    def _admit(self) -> None:
        free = self.max_rows - len(self.active)
        with self._waiting_lock:
            joining = [self.waiting.popleft() for _ in range(min(free, len(self.waiting)))]
        if not joining:
            return
        try:
            self._splice(joining)
        except Exception as exc:  # out of memory, say: they are neither waiting nor active
            for _, out in joining:
                out.error = exc
            raise
        self.active += joining

    def _splice(self, joining: list[tuple[DecodeRow, PendingRow]]) -> None:
        """Prefill the joining rows and splice them into the running batch (or start one)."""
        rows = [row for row, _ in joining]
        logits, batch = prefill(self.model, rows, self.device, self.prefixes, self.share_prompts)
        sampler = RowSampler(rows, logits.shape[-1], self.device)
        if self.batch is None:
            self.batch, self.sampler, self.logits = batch, sampler, logits
        else:
            # the spliced cache needs room for the longest remaining row, old or new
            room = max(r.params.max_new_tokens - len(o.token_ids) for r, o in self.active + joining)
            self.batch.join(batch, room)
            self.sampler.join(sampler)
            self.logits = torch.cat([self.logits, logits])

    def _no_early_end(self, logits):
        """The end tokens masked out for the rows that have fewer than ``min_new_tokens``."""
        young = [len(out.token_ids) < self.min_new_tokens for _, out in self.active]
        if not any(young) or not len(self.eos_index):
            return logits
        blocked = logits.index_fill(1, self.eos_index, float("-inf"))
        return torch.where(torch.tensor(young, device=logits.device)[:, None], blocked, logits)


@dataclass
class _Batch:
    """The rows decoding together: their KV cache, attention mask and last position ids."""

    cache: Any
    attention: Any  # [rows, length], 0 where padded
    positions: Any  # [rows, 1]

    @property
    def width(self) -> int:
        """Positions each row's cache holds (prompt, padding and generated tokens)."""
        return self.attention.shape[1]

    def select(self, index) -> None:
        """Keep only the batch rows at ``index``, and none of the padding only they needed."""
        self.cache.batch_select_indices(index)
        self.attention, self.positions = self.attention[index], self.positions[index]
        self._trim()

    def _trim(self) -> None:
        """Drop the leading columns that are padding for every row left.

        A row that joins is padded on the left to the batch's width, which grows by a column a
        step; without this, a batch that never empties (rows coming and going) would attend
        over, and hold, ever more padding. Each row's tokens are the last ones of its row of
        the mask, so the widest row left bounds what is kept. Positions are each row's own, so
        nothing else moves.
        """
        width = self.attention.shape[1]
        trim = width - int(self.attention.sum(dim=1).max())
        kinds = {type(layer) for layer in self.cache.layers}  # others (sliding windows) keep
        if trim <= 0 or not kinds <= {_PreallocatedLayer, DynamicLayer}:  # their own books
            return
        for layer in self.cache.layers:
            if isinstance(layer, _PreallocatedLayer):
                layer.drop_left(trim)
            else:
                layer.keys, layer.values = layer.keys[:, :, trim:], layer.values[:, :, trim:]
        self.attention = self.attention[:, trim:]

    def join(self, other: _Batch, room: int) -> None:
        """Append ``other``'s rows, both left-padded to the longer one so last tokens line up.

        The cache is copied once per join (not per step), with ``room`` positions to spare.
        """
        width = max(self.attention.shape[1], other.attention.shape[1])
        for index, (mine, theirs) in enumerate(zip(self.cache.layers, other.cache.layers)):
            keys = torch.cat([_pad_left(mine.keys, width), _pad_left(theirs.keys, width)])
            values = torch.cat([_pad_left(mine.values, width), _pad_left(theirs.values, width)])
            if isinstance(mine, _PreallocatedLayer):
                self.cache.layers[index] = _PreallocatedLayer(keys, values, room)
            else:
                mine.keys, mine.values = keys, values
        pad = torch.nn.functional.pad
        self.attention = torch.cat(
            [pad(a, (width - a.shape[1], 0)) for a in (self.attention, other.attention)]
        )
        self.positions = torch.cat([self.positions, other.positions])

    def step(self, model, tokens):
        """Feed one new token per row; the next logits [rows, vocab]."""
        ones = self.attention.new_ones(self.attention.shape[0], 1)
        self.attention = torch.cat([self.attention, ones], dim=1)
        self.positions = self.positions + 1
        out = forward(
            model,
            self.cache,
            input_ids=tokens[:, None],
            attention_mask=self.attention,
            position_ids=self.positions,
        )
        self.cache = _cache_of(out)
        return out.logits[:, -1, :].float()


@dataclass
class PendingRow:
    """A submitted row's tokens so far; ``result`` is set once it has finished."""

    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    result: RowResult | None = None
    error: Exception | None = None  # set when the decoder crashed before the row finished

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def add(
        self, row: DecodeRow, token: int, logprob: float, eos,
        natural: NaturalEnd = NO_NATURAL_END,
    ) -> bool:  # fmt: skip
        """Record the row's next token; whether the row goes on."""
        self.token_ids.append(token)
        self.logprobs.append(logprob)
        if token in eos:
            self._finish("stop")
        elif self._ends_naturally(row, natural):
            del self.token_ids[-1], self.logprobs[-1]  # the next sentence's first word
            self._finish("stop")
        elif len(self.token_ids) >= row.params.max_new_tokens:
            self._finish("length")
        return self.result is None

    def _ends_naturally(self, row: DecodeRow, natural: NaturalEnd) -> bool:
        after = row.natural_end_after
        ids = self.token_ids
        return (
            after is not None and len(ids) > max(1, after) and ids[-1] in natural.word_starts
            and ids[-2] in natural.sentence_ends
        )  # fmt: skip

    def _finish(self, reason: str) -> None:
        scores = self.logprobs
        self.result = RowResult(
            token_ids=tuple(self.token_ids),
            mean_logprob=sum(scores) / len(scores) if scores else None,
            finish_reason=reason,
        )


CPU_PREFILL_GROUP = 4
"""Distinct prompts run together in one prefill call on a CPU (a GPU runs them all at once).

Four neighbours by length waste little on padding and read the weights a quarter as often as
one prompt per call; measured on 2 cores: 30-40 % less prefill time than one by one, while 16
at once wastes more on padding than it saves."""


def prefill(
    model, rows: Sequence[DecodeRow], device: str, prefixes: PrefixCache | None = None,
    share_prompts: bool = False,
) -> tuple[Any, _Batch | _SharedBatch]:  # fmt: skip
    """Run the prompts and stack their KV caches, left-padded, into one batch cache.

    The prefix common to all rows (the persona and rules) is computed once, and with
    ``prefixes`` only from where it stops being one that ran recently. The distinct prompts,
    sorted by length, then run in small groups on top of it (see ``_prefill_group``).
    Returns the last logits [rows, vocab] and the batch: with ``share_prompts``, one copy of each
    prompt's cache for the rows continuing it (``_SharedBatch``), else the rows' caches stacked
    left-padded behind an attention mask.
    """
    prompts = sorted({row.prompt_ids for row in rows}, key=len)
    shared = _common_prefix(prompts)
    prefix_cache = None
    if shared:
        prefix_cache = _prefix_kv(model, prompts[0][:shared], device, prefixes)
    group = len(prompts) if str(device).startswith("cuda") else CPU_PREFILL_GROUP
    runs: dict[tuple[int, ...], tuple] = {}
    for start in range(0, len(prompts), group):
        chunk = prompts[start : start + group]
        template = _prefill_group(model, chunk, shared, prefix_cache, device, runs)
    lengths = [len(row.prompt_ids) for row in rows]
    width = max(lengths)
    logits = torch.stack([runs[row.prompt_ids][0] for row in rows])
    room = max(row.params.max_new_tokens for row in rows)
    if share_prompts:
        return logits, _SharedBatch.of(template, rows, runs, room)
    layers = [runs[row.prompt_ids][1] for row in rows]
    cache = _stack_left_padded(template, layers, width, room)
    attention = torch.tensor(
        [[0] * (width - n) + [1] * n for n in lengths], dtype=torch.long, device=device
    )
    positions = torch.tensor([[n - 1] for n in lengths], dtype=torch.long, device=device)
    return logits, _Batch(cache, attention, positions)


PREFIX_CACHE_TOKENS = 1024
"""Prompt tokens whose KV a decoder keeps for the prompts that follow: about 45 MiB with the
default model, four or five prompts of a few hundred tokens."""

MIN_PREFIX_REUSE = 16
"""Fewer tokens in common with a kept prefix are run again (not worth a fork of the cache)."""


class PrefixCache:
    """The KV caches of the prompt prefixes run last, so that a prompt that begins as a recent
    one did (the subreddit's persona and examples, the same thread, a regeneration's identical
    prompt) runs only its own tokens. Kept: the most recently used, up to ``max_tokens``.

    An entry is never changed in place: a prompt that reuses one forks it (its own layers, the
    entry's tensors seen up to the tokens in common) and grows the fork. Only plain full
    attention layers are reused: a sliding window's cache cannot be cut back to a prefix."""

    def __init__(self, max_tokens: int = PREFIX_CACHE_TOKENS) -> None:
        self.max_tokens = max_tokens
        self.entries: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self.tokens_reused = 0  # how many prompt tokens were not run again, in all

    def longest(self, tokens: tuple[int, ...]) -> tuple[int, Any]:
        """The most tokens at the start of ``tokens`` whose KV is kept, and a cache of just
        those (a fork of the entry); (0, None) below ``MIN_PREFIX_REUSE``."""
        best, found = 0, None
        for key in self.entries:
            common = _common_length(key, tokens)
            if common > best:
                best, found = common, key
        if found is None or best < MIN_PREFIX_REUSE:
            return 0, None
        self.entries.move_to_end(found)
        self.tokens_reused += best
        return best, _cut(self.entries[found], best)

    def put(self, tokens: tuple[int, ...], cache) -> None:
        """Keep ``cache`` (the KV of exactly ``tokens``), dropping the least recently used
        entries beyond ``max_tokens`` and any entry it extends."""
        if len(tokens) > self.max_tokens or not _cuttable(cache):
            return
        for key in [k for k in self.entries if tokens[: len(k)] == k]:
            del self.entries[key]  # the new entry holds all of it
        self.entries[tokens] = cache
        while sum(len(k) for k in self.entries) > self.max_tokens:
            self.entries.popitem(last=False)


def _prefix_kv(model, prefix: tuple[int, ...], device, prefixes: PrefixCache | None):
    """The KV cache of ``prefix``: run whole, or only past what ``prefixes`` keeps of it."""
    reused, cache = prefixes.longest(prefix) if prefixes is not None else (0, None)
    rest = prefix[reused:]
    if rest:
        tokens = torch.tensor([rest], dtype=torch.long, device=device)
        cache = _cache_of(forward(model, cache, input_ids=tokens, logits_to_keep=1))
    if prefixes is not None:
        prefixes.put(prefix, cache)
    return cache


def _cuttable(cache) -> bool:
    return all(type(layer) is DynamicLayer for layer in cache.layers)


def _cut(cache, length: int):
    """A fork of ``cache`` that holds its first ``length`` positions (views: nothing copied)."""
    cut = _fork(cache)
    for layer in cut.layers:
        layer.keys, layer.values = layer.keys[:, :, :length], layer.values[:, :, :length]
    return cut


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many tokens ``a`` and ``b`` share at their start."""
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    return common


def _prefill_group(model, prompts, shared: int, prefix_cache, device, runs: dict):
    """Run the prompts' own parts (after the shared prefix) in one call, right-padded.

    No mask is needed: attention is causal, so no real token sees the padding after it, and
    each prompt gets the logits and keys it would get alone. Stores, for each prompt, its last
    logits [vocab] and its keys and values per layer in ``runs``; returns the call's cache.
    """
    width = max(len(p) for p in prompts) - shared
    padded = [list(p[shared:]) + [p[-1]] * (width - len(p) + shared) for p in prompts]
    cache = _expand(prefix_cache, len(prompts)) if prefix_cache is not None else None
    ends = [len(p) - shared - 1 for p in prompts]
    keep = sorted(set(ends))
    out = forward(
        model,
        cache,
        input_ids=torch.tensor(padded, dtype=torch.long, device=device),
        logits_to_keep=torch.tensor(keep, dtype=torch.long, device=device),
    )
    cache = _cache_of(out)
    for i, (prompt, end) in enumerate(zip(prompts, ends, strict=True)):
        states = [
            (layer.keys[i : i + 1, :, : len(prompt)], layer.values[i : i + 1, :, : len(prompt)])
            for layer in cache.layers
        ]
        runs[prompt] = (out.logits[i, keep.index(end)].float(), states)
    return cache


def _expand(cache, rows: int):
    """The one-row prefix cache seen as ``rows`` rows (views; the prefix itself is untouched)."""
    expanded = _fork(cache)
    for layer in expanded.layers:
        layer.keys = layer.keys.expand(rows, -1, -1, -1)
        layer.values = layer.values.expand(rows, -1, -1, -1)
    return expanded


def _stack_left_padded(template, layers: list, width: int, room: int):
    """One batch cache from per-row (keys, values) per layer, padded on the left to ``width``.

    Its full-attention layers have room for ``room`` more positions, so that decoding writes
    each new key and value in place instead of copying the whole cache every step (a quarter of
    a decoding step's time on a CPU with the growing cache).
    """
    merged = _fork(template)
    for index, layer in enumerate(merged.layers):
        keys = torch.cat([_pad_left(row[index][0], width) for row in layers])
        values = torch.cat([_pad_left(row[index][1], width) for row in layers])
        if type(layer) is DynamicLayer:  # sliding-window and other layers keep their own rules
            merged.layers[index] = _PreallocatedLayer(keys, values, room)
        else:
            layer.keys, layer.values = keys, values
    return merged


class _PreallocatedLayer(DynamicLayer):
    """A decoding layer cache with spare room: ``update`` writes in place and returns views.

    A ``DynamicLayer`` as far as attention and mask code can tell, with the same keys and
    values, but whose growth by a token costs a write of that token instead of a copy of all.
    """

    def __init__(self, keys, values, room: int) -> None:
        self.is_initialized, self.device = True, keys.device
        rows, heads, length, _ = keys.shape
        self._keys = keys.new_empty(rows, heads, length + room, keys.shape[-1])
        self._values = values.new_empty(rows, heads, length + room, values.shape[-1])
        self._keys[:, :, :length] = keys
        self._values[:, :, :length] = values
        self._length = length

    @property
    def keys(self):
        return self._keys[:, :, : self._length]

    @keys.setter
    def keys(self, tensor) -> None:  # anything that replaces the keys outright loses the room
        self._keys, self._length = tensor, tensor.shape[-2]

    @property
    def values(self):
        return self._values[:, :, : self._length]

    @values.setter
    def values(self, tensor) -> None:
        self._values = tensor

    def update(self, key_states, value_states, *args, **kwargs):
        end = self._length + key_states.shape[-2]
        if end > self._keys.shape[-2]:
            raise RuntimeError(f"decode cache full: {end} > {self._keys.shape[-2]} positions")
        self._keys[:, :, self._length : end] = key_states
        self._values[:, :, self._length : end] = value_states
        self._length = end
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self._length

    def batch_select_indices(self, indices) -> None:
        self._keys, self._values = self._keys[indices], self._values[indices]

    def drop_left(self, count: int) -> None:
        """Forget the first ``count`` positions (padding), keeping the room after the last."""
        self._keys, self._values = self._keys[:, :, count:], self._values[:, :, count:]
        self._length -= count


SHARED_PROMPT_MODELS = frozenset({"llama"})
"""Model families whose attention reads the shared prompts (``_SharedBatch``): plain causal
attention over every position (no sliding window, sinks or soft cap), looked up by name
(transformers' ``AttentionInterface``). SmolLM2, the default model, is a Llama. Others decode
with each row's own copy of its prompt."""

SHARED_PROMPT_ATTENTION = "redditbot_shared_prompt"
"""The attention implementation a model is switched to: ``_attention``, which is sdpa's for
every call that does not decode a ``_SharedBatch`` (the prompts' prefill, ``generate()``)."""


def use_shared_prompts(model) -> bool:
    """Whether rows continuing one prompt can share its KV on ``model``; if so, its attention is
    switched to ``SHARED_PROMPT_ATTENTION`` (once; the same as sdpa for everything else)."""
    config = getattr(model, "config", None)
    if getattr(config, "model_type", None) not in SHARED_PROMPT_MODELS:
        return False
    if (
        getattr(config, "sliding_window", None)
        or getattr(config, "layer_types", None)
        and any(kind != "full_attention" for kind in config.layer_types)
    ):
        return False
    if config._attn_implementation == SHARED_PROMPT_ATTENTION:
        return True
    switch = getattr(model, "set_attn_implementation", None)
    if config._attn_implementation != "sdpa" or switch is None:
        return False  # eager, flash, ...: as the operator or the model chose
    AttentionInterface.register(SHARED_PROMPT_ATTENTION, _attention)
    AttentionMaskInterface.register(SHARED_PROMPT_ATTENTION, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    try:
        switch(SHARED_PROMPT_ATTENTION)
    except (KeyError, ValueError):  # a transformers that takes no registered name: own copies
        return False
    return config._attn_implementation == SHARED_PROMPT_ATTENTION


def _attention(module, query, key, value, attention_mask, *args, **kwargs):
    """A ``_SharedPromptLayer``'s attention when ``key`` is its rows' own tokens, else sdpa's."""
    layer = getattr(key, "shared_prompt_layer", None)
    if layer is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, *args, **kwargs)
    scaling = kwargs.get("scaling") or query.shape[-1] ** -0.5
    return layer.attend(query, key, value, attention_mask, scaling), None


@dataclass
class _SharedBatch:
    """Rows decoding together where the rows continuing one prompt share its KV.

    The rows are in spans, one per prompt (a request's candidates); each layer keeps each span's
    prompt keys and values once, and for every row only the tokens it generated, in columns
    shared by all rows: a row that joined later starts at a later column (``first``), the
    columns before it masked out. Positions are each row's own, as in ``_Batch``.
    """

    cache: Any  # its layers: _SharedPromptLayer
    spans: list[tuple[int, int]]  # [start, end) of the rows continuing each prompt, in order
    first: Any  # [rows]: the column each row's own tokens start at
    positions: Any  # [rows, 1]

    @property
    def width(self) -> int:
        """Columns of generated tokens held per row (the prompts are held apart)."""
        return self.cache.layers[0].get_seq_length()

    @property
    def prompts_held(self) -> int:
        """Prompt caches held, one per span of rows continuing it."""
        return len(self.spans)

    @classmethod
    def of(cls, template, rows: Sequence[DecodeRow], runs: dict, room: int) -> _SharedBatch:
        """The batch of freshly prefilled ``rows`` (``runs``: each prompt's logits and KV per
        layer), with room for ``room`` generated tokens a row."""
        spans: list[tuple[int, int]] = []
        for i, row in enumerate(rows):
            if spans and rows[spans[-1][0]].prompt_ids == row.prompt_ids:
                spans[-1] = (spans[-1][0], i + 1)
            else:
                spans.append((i, i + 1))
        prompts = [rows[start].prompt_ids for start, _ in spans]
        merged = _fork(template)
        for index, layer in enumerate(template.layers):
            # at least float32: attention scores in a half type lose what sdpa's kernels keep
            kind = torch.promote_types(layer.keys.dtype, torch.float32)
            # each prompt's own copy (the prefill's cache is padded and shared by its group)
            own = {
                p: tuple(t[0].to(kind, copy=True) for t in runs[p][1][index]) for p in set(prompts)
            }
            keys, values = layer.keys, layer.values
            merged.layers[index] = _SharedPromptLayer(
                [own[p] for p in prompts],
                keys.new_empty(len(rows), keys.shape[1], 0, keys.shape[-1], dtype=kind),
                values.new_empty(len(rows), values.shape[1], 0, values.shape[-1], dtype=kind),
                room,
            )
        device = template.layers[0].keys.device
        lengths = [len(row.prompt_ids) for row in rows]
        first = torch.zeros(len(rows), dtype=torch.long, device=device)
        positions = torch.tensor([[n - 1] for n in lengths], dtype=torch.long, device=device)
        return cls(merged, spans, first, positions)

    def select(self, index) -> None:
        """Keep only the rows at ``index`` (ascending), the prompts they continue, and no column
        before the first one a remaining row uses."""
        kept = index.tolist()
        counts = [sum(start <= i < end for i in kept) for start, end in self.spans]
        spans, start = [], 0
        for count in counts:
            if count:
                spans.append((start, start + count))
                start += count
        self.spans = spans
        self.first, self.positions = self.first[index], self.positions[index]
        trim = int(self.first.min())
        self.first = self.first - trim
        for layer in self.cache.layers:
            layer.select(index, [c > 0 for c in counts], trim)

    def join(self, other: _SharedBatch, room: int) -> None:
        """Append ``other``'s rows (new: nothing generated yet), starting at the next column;
        every row gets room for ``room`` more tokens. Only generated tokens are copied."""
        rows = len(self.positions)
        used = self.width
        for mine, theirs in zip(self.cache.layers, other.cache.layers, strict=True):
            mine.join(theirs, room)
        self.spans += [(start + rows, end + rows) for start, end in other.spans]
        self.first = torch.cat([self.first, torch.full_like(other.first, used)])
        self.positions = torch.cat([self.positions, other.positions])

    def step(self, model, tokens):
        """Feed one new token per row; the next logits [rows, vocab]."""
        columns = self.width + 1
        own = torch.arange(columns, device=self.first.device)[None, :] >= self.first[:, None]
        dtype = self.cache.layers[0].prompts[0][0].dtype
        mask = torch.zeros(own.shape, dtype=dtype, device=own.device)
        mask = mask.masked_fill(~own, torch.finfo(dtype).min)[:, None, None, :]
        self.positions = self.positions + 1
        layout = self.spans
        for layer in self.cache.layers:
            layer.spans, layer.attended = layout, False
        # a 4D mask is passed to the attention as it is: the columns before each row's own
        inputs = {"input_ids": tokens[:, None], "attention_mask": mask}
        out = forward(model, self.cache, **inputs, position_ids=self.positions)
        if not all(layer.attended for layer in self.cache.layers):
            # another attention ran (the model switched back, or transformers lost the mark on
            # the keys): it saw each row's own tokens without the prompt, so the step is wrong
            raise RuntimeError(
                "a shared-prompt decoding step ran without the shared-prompt attention; "
                "set [model] share_prompts = false for this model or transformers version"
            )
        self.cache = _cache_of(out)
        return out.logits[:, -1, :].float()


class _SharedPromptLayer(_PreallocatedLayer):
    """One layer of a ``_SharedBatch``: each span's prompt keys and values [kv heads, length,
    dim] once, and the rows' generated ones [rows, kv heads, columns + room, dim], written in
    place as a ``_PreallocatedLayer`` writes, both at least float32 (a half-precision model's
    scores lose too much in its own type). ``update`` returns the generated ones, marked so
    that ``_attention`` adds the prompts; ``attended`` tells the batch that it did."""

    def __init__(self, prompts: list[tuple[Any, Any]], keys, values, room: int) -> None:
        super().__init__(keys, values, room)  # no generated tokens yet: ``keys`` hold none
        self.prompts = prompts
        self.spans: list[tuple[int, int]] = []  # set by the batch before each step
        self.attended = False  # whether this step's attention was ``attend`` (the batch checks)

    def update(self, key_states, value_states, *args, **kwargs):
        keys, values = super().update(key_states, value_states, *args, **kwargs)
        keys.shared_prompt_layer = self
        return keys, values

    def attend(self, query, keys, values, mask, scaling: float):
        """Attention of one query token per row [rows, heads, 1, dim] over its prompt (read once
        for all rows of its span) and its own tokens; [rows, 1, heads, dim]."""
        rows, heads, _, dim = query.shape
        kv_heads = keys.shape[1]
        group = heads // kv_heads  # query heads per kv head
        q = query.reshape(rows, kv_heads, group, dim).to(keys.dtype)  # the cache's (>= float32)
        mask = mask.to(keys.dtype)
        own = torch.matmul(q, keys.transpose(-1, -2)) * scaling + mask  # [rows, kv, group, T]
        self.attended = True
        out = q.new_empty(rows, kv_heads, group, dim)
        columns = own.shape[-1]
        for (start, end), (prompt_keys, prompt_values) in zip(self.spans, self.prompts):
            n = end - start
            qs = q[start:end].transpose(0, 1).reshape(kv_heads, n * group, dim)
            scores = torch.matmul(qs, prompt_keys.transpose(-1, -2)) * scaling  # [kv, n*g, L]
            mine = own[start:end].transpose(0, 1).reshape(kv_heads, n * group, columns)
            weights = torch.softmax(torch.cat([scores, mine], dim=-1), dim=-1)
            length = scores.shape[-1]
            part = torch.matmul(weights[..., :length], prompt_values)  # [kv, n*g, dim]
            part = part.reshape(kv_heads, n, group, dim).transpose(0, 1)
            tail = weights[..., length:].reshape(kv_heads, n, group, columns).transpose(0, 1)
            out[start:end] = part + torch.matmul(tail, values[start:end])
        return out.reshape(rows, 1, heads, dim).to(query.dtype)

    def select(self, index, kept_spans: list[bool], trim: int) -> None:
        """Keep the rows at ``index``, the prompts of the spans kept, none of the first
        ``trim`` columns (nobody's any more)."""
        self.batch_select_indices(index)
        self.drop_left(trim)
        self.prompts = [p for p, kept in zip(self.prompts, kept_spans, strict=True) if kept]

    def join(self, other: _SharedPromptLayer, room: int) -> None:
        """Append ``other``'s rows and prompts; every row gets ``room`` columns to spare."""
        rows, kv_heads, _, dim = self._keys.shape
        used = self.get_seq_length()
        keys = self._keys.new_zeros(rows + other._keys.shape[0], kv_heads, used + room, dim)
        values = self._values.new_zeros(keys.shape)
        keys[:rows, :, :used] = self.keys
        values[:rows, :, :used] = self.values
        self._keys, self._values = keys, values
        self.prompts = self.prompts + other.prompts


def _fork(cache):
    """A copy that can grow on its own: layers append by replacing their tensors, never in place."""
    forked = copy.copy(cache)
    forked.layers = [copy.copy(layer) for layer in cache.layers]
    return forked


def _pad_left(states, width: int):
    """[1, heads, length, dim] → [1, heads, width, dim], zeros first (masked out anyway)."""
    return torch.nn.functional.pad(states, (0, 0, width - states.shape[-2], 0))


def forward(model, cache, **inputs):
    """One model call with a KV cache, under the cache's name in this transformers version."""
    parameters = inspect.signature(model.forward).parameters
    keyword = "cache" if "cache" in parameters else "past_key_values"  # renamed in 5.x
    return model(**inputs, **{keyword: cache}, use_cache=True)


def _cache_of(out):
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def _common_prefix(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the prefix all sequences share, leaving every row at least one own token."""
    limit = min(len(s) for s in sequences) - 1
    return max(0, min([limit, *(_common_length(sequences[0], s) for s in sequences[1:])]))


class RowSampler:
    """Picks each row's next token with that row's parameters and random generator."""

    def __init__(self, rows: Sequence[DecodeRow], vocab_size: int, device) -> None:
        params = [row.params for row in rows]
        self.temperature = torch.tensor([p.temperature for p in params], device=device)
        self.top_p = torch.tensor([p.top_p for p in params], device=device)
        self.top_k = torch.tensor([p.top_k for p in params], device=device)
        self.penalty = torch.tensor([p.repetition_penalty for p in params], device=device)
        self.greedy = self.temperature <= 0
        self.generators = [_generator(row.seed, device) for row in rows]
        self.seen = torch.zeros(len(rows), vocab_size, dtype=torch.bool, device=device)
        for i, row in enumerate(rows):
            self.seen[i, torch.tensor(sorted(set(row.prompt_ids)), device=device)] = True

    _PER_ROW = ("temperature", "top_p", "top_k", "penalty", "greedy", "seen")

    def select(self, index) -> None:
        """Keep only the rows at ``index`` (the others have finished)."""
        for name in self._PER_ROW:
            setattr(self, name, getattr(self, name)[index])
        self.generators = [self.generators[i] for i in index.tolist()]

    def join(self, other: RowSampler) -> None:
        """Append ``other``'s rows, each with its own state and generator as it was."""
        for name in self._PER_ROW:
            setattr(self, name, torch.cat([getattr(self, name), getattr(other, name)]))
        self.generators += other.generators

    def pick(self, logits):
        """Next tokens [rows] and their log-probabilities under the raw model distribution."""
        logprobs = torch.log_softmax(logits, dim=-1)
        penalized = self._penalize(logits)
        tokens = penalized.argmax(dim=-1)
        if not bool(self.greedy.all()):
            tokens = torch.where(self.greedy, tokens, self._sample(penalized))
        self.seen[torch.arange(len(tokens), device=tokens.device), tokens] = True
        return tokens, logprobs.gather(1, tokens[:, None]).squeeze(1)

    def _penalize(self, logits):
        """CTRL-style repetition penalty on every token already in the row."""
        penalty = self.penalty[:, None]
        scaled = torch.where(logits < 0, logits * penalty, logits / penalty)
        return torch.where(self.seen, scaled, logits)

    def _sample(self, logits):
        values, indices = self._top_k(logits / self.temperature.clamp(min=1e-5)[:, None])
        probs = torch.softmax(values, dim=-1)
        outside_p = (probs.cumsum(dim=-1) - probs) > self.top_p[:, None]
        probs = torch.softmax(values.masked_fill(outside_p, float("-inf")), dim=-1)
        picks = [
            torch.multinomial(probs[i], 1, generator=gen) for i, gen in enumerate(self.generators)
        ]
        return indices.gather(1, torch.stack(picks)).squeeze(1)

    def _top_k(self, logits):
        """The k best logits per row, sorted; a row with k = 0 keeps the whole vocabulary."""
        vocab = logits.shape[-1]
        k = torch.where(self.top_k > 0, self.top_k.clamp(max=vocab), vocab)
        values, indices = torch.topk(logits, int(k.max()), dim=-1)
        beyond_k = torch.arange(values.shape[-1], device=logits.device)[None, :] >= k[:, None]
        return values.masked_fill(beyond_k, float("-inf")), indices


def _generator(seed: int | None, device) -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator
