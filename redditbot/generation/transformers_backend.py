"""The transformers backend: loads a local model and decodes many replies in one batch.

The only module (with ``sampling``) that imports torch and transformers. The decoding loop is
our own rather than ``model.generate`` because every row of a batch has its own sampling
parameters and its own seed: a request's reply then depends on its seed alone, not on which
other requests happened to share its batch.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from redditbot.domain import Candidate, Generation, GenerationRequest
from redditbot.errors import ConfigError, ModelNotFoundError
from redditbot.generation import malloc
from redditbot.generation.model_store import (
    ModelLocation,
    Progress,
    ensure_default_model,
    ensure_gguf_model,
    is_default,
    is_gguf,
    locate_model,
)
from redditbot.generation.prompts import (
    PLAIN_STOPS,
    TRANSCRIPT_STOPS,
    build_prompt,
    render_plain,
)
from redditbot.generation.settings import ModelSettings
from redditbot.generation.text import postprocess_reply
from redditbot.progress import StageBar


def _go_offline() -> None:
    """Nothing is ever fetched from a model hub at run time; set before transformers loads."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


_go_offline()

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from redditbot.generation.sampling import (  # noqa: E402
    NO_NATURAL_END,
    ContinuousDecoder,
    DecodeRow,
    NaturalEnd,
    PrefixCache,
    RowResult,
)

REPLY_HEADROOM_TOKENS = 8
# A token ending a sentence: its text ends in . ! ? or …, maybe closed by quotes or brackets
# ("Mr. Smith" ends there too: rare in a reply, and it still reads as a sentence).
_SENTENCE_END_TOKEN = re.compile(r"""[.!?…]["')\]*_»”’]*$""")
MIN_REPLY_TOKENS = 1  # a reply that ends before its first token is empty: never posted


@dataclass(frozen=True)
class LoadedModel:
    """A model and its tokenizer in memory, with what generation needs to know about them."""

    model: Any
    tokenizer: Any
    model_id: str
    device: str
    dtype: str
    context_length: int
    eos_token_ids: tuple[int, ...]
    pad_token_id: int
    quantized: bool = False


# --------------------------------------------------------------------------- loading


CONVERSION_STAGES = ("reading the tokenizer", "reading the weights", "writing safetensors")
_CONVERSION_LOCK = threading.Lock()  # the tensor counter is patched into one shared module


def convert_gguf(
    gguf: Path, out_dir: Path, progress: Progress | None = None, *, terminal: bool = False
) -> None:
    """Dequantise a GGUF model with transformers and save it as safetensors in ``out_dir``.

    Progress by stage (and tensor by tensor while the weights are dequantised): a bar on a
    terminal, else lines through ``progress``. transformers' own bars are off meanwhile: they
    would write carriage returns into a log even where no terminal is."""
    stages = StageBar("converting", len(CONVERSION_STAGES), progress or (lambda message: None),
                      sys.stderr if terminal else None)  # fmt: skip
    local = {"gguf_file": gguf.name, "local_files_only": True}
    with _CONVERSION_LOCK, _no_transformers_bars(), _counted_gguf_tensors(stages), stages:
        stages.start(CONVERSION_STAGES[0])
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **local)
        stages.start(CONVERSION_STAGES[1])
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=torch.float32, **local)
        # transformers refuses to save a model it believes is still quantised.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        stages.start(CONVERSION_STAGES[2])
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)


@contextmanager
def _no_transformers_bars() -> Iterator[None]:
    """transformers' progress bars ("Loading weights", "Writing model shards") off, then back
    as they were."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


@contextmanager
def _counted_gguf_tensors(stages: StageBar) -> Iterator[None]:
    """transformers' GGUF loader walks the tensors through its module's ``tqdm`` (one bar, on
    stderr, always): that walk reports to ``stages`` instead. A transformers without that
    name just gives no count within the stage."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return

    def counted(iterable, *args: Any, **kwargs: Any) -> Iterator[Any]:
        items = list(iterable)
        for done, item in enumerate(items, 1):
            yield item
            stages.count(done, len(items))

    gguf_utils.tqdm = counted
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def prepare_model(
    settings: ModelSettings,
    name: str | None,
    progress: Progress | None = None,
    *,
    terminal: bool = False,
) -> ModelLocation:
    """Where model ``name`` is on disk, converting the built-in default first if needed
    (``terminal``: a progress bar for the download)."""
    location = locate_model(name, settings)
    convert = partial(convert_gguf, progress=progress, terminal=terminal)
    if is_default(name):
        ensure_default_model(settings, convert, progress, terminal=terminal)
    elif is_gguf(name):
        ensure_gguf_model(settings, Path(str(name)).expanduser().resolve(), convert, progress)
    return location


def load_model(location: ModelLocation, settings: ModelSettings) -> LoadedModel:
    """Load a model directory on the configured device and dtype, ready for batched decoding."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.dtype, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location.path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            location.path, dtype=dtype, local_files_only=True
        )
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"cannot load the model in {location.path}: {exc}") from exc
    model.to(device).eval()
    quantized = settings.quantize_int8 and device == "cpu"
    if quantized:
        model = _quantize_int8(model)
    return _describe(model, tokenizer, location, device, dtype, quantized)


def _quantize_int8(model):
    """Dynamic int8 for the linear layers (torch.ao is deprecated, but torchao is not a dep)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _describe(model, tokenizer, location, device, dtype, quantized) -> LoadedModel:
    eos_ids = _eos_token_ids(model, tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]
    context = getattr(model.config, "max_position_embeddings", None) or 2048
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        model_id=location.model_id,
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        context_length=int(context),
        eos_token_ids=eos_ids,
        pad_token_id=int(pad_id),
        quantized=quantized,
    )


def _eos_token_ids(model, tokenizer) -> tuple[int, ...]:
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids = configured if isinstance(configured, list) else [configured]
    ids = [*ids, tokenizer.eos_token_id]
    found = tuple(dict.fromkeys(int(i) for i in ids if i is not None))
    if not found:
        raise ConfigError("the model defines no end-of-sequence token; cannot stop replies")
    return found


def resolve_device(requested: str) -> str:
    """'auto' → CUDA when present, else the CPU; a forced 'cuda' must exist."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("[model] device = 'cuda' but no CUDA device is available")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def resolve_dtype(requested: str, device: str):
    """'auto' → bf16 on CUDA (fp16 where bf16 is unsupported), fp32 on the CPU."""
    if requested != "auto":
        return getattr(torch, requested)
    if device != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


# --------------------------------------------------------------------------- prompts


class HFPromptTokenizer:
    """A transformers tokenizer seen through the ``PromptTokenizer`` protocol."""

    def __init__(self, tokenizer) -> None:
        self._tokenizer = tokenizer
        self.special_tokens = tuple(tokenizer.all_special_tokens)
        self.has_chat_template = bool(getattr(tokenizer, "chat_template", None))

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False)

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def truncate(self, text: str, max_tokens: int, *, keep_end: bool) -> str:
        ids = self.encode(text)
        if len(ids) <= max_tokens:
            return text
        kept = ids[len(ids) - max_tokens :] if keep_end else ids[: max(0, max_tokens)]
        return self._tokenizer.decode(kept, skip_special_tokens=True)

    def render(self, messages) -> str:
        if not self.has_chat_template:
            return render_plain(messages)
        return self._tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )

    @property
    def stops(self) -> tuple[str, ...]:
        """Text that ends a chat reply: another turn starting, with or without a template."""
        return PLAIN_STOPS if not self.has_chat_template else ("<|im_start|>", "<|im_end|>")

    def line_break_ids(self) -> tuple[int, ...]:
        """Every token that is only line breaks: in a transcript, the end of the bot's line."""
        found = []
        for token, token_id in self._tokenizer.get_vocab().items():
            text = self._tokenizer.convert_tokens_to_string([token])
            if text and not text.strip(" \n") and "\n" in text:
                found.append(token_id)
        return tuple(sorted(found))

    def natural_end(self) -> NaturalEnd:
        """The tokens that end a sentence and those that start a word (see ``NaturalEnd``)."""
        ends, starts = set(), set()
        for token, token_id in self._tokenizer.get_vocab().items():
            text = self._tokenizer.convert_tokens_to_string([token])
            if text[:1].isspace():
                starts.add(token_id)
            if _SENTENCE_END_TOKEN.search(text):
                ends.add(token_id)
        return NaturalEnd(frozenset(ends), frozenset(starts))


# --------------------------------------------------------------------------- generating


class TransformersGenerator:
    """Continuously batched generation on one loaded model; many may share one model.

    Every ``generate`` call, from any thread, feeds one decoder: its rows join the batch at the
    next decoding step (at most ``batch_size`` rows decode at once; the rest wait their turn)
    and each call returns as soon as its own rows are done, not when the batch is.
    """

    backend = "transformers"

    def __init__(
        self,
        loaded: LoadedModel,
        settings: ModelSettings,
        *,
        clock: Callable[[], float] = time.perf_counter,
        on_step: Callable[[int], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.settings = settings
        self.prompts = HFPromptTokenizer(loaded.tokenizer)
        self.transcript = settings.prompt_format == "transcript"
        # A transcript reply is one line: the tokens that break it end it, as the end token does.
        self.stop_token_ids = self.prompts.line_break_ids() if self.transcript else ()
        self._clock = clock
        self._on_step = on_step  # called with each step's row count, under the lock
        self.decoder = ContinuousDecoder(
            loaded.model,
            eos_token_ids=(*loaded.eos_token_ids, *self.stop_token_ids),
            device=loaded.device,
            max_rows=settings.batch_size,
            min_new_tokens=MIN_REPLY_TOKENS,  # per row: counted from the row's own first token
            natural_end=self.prompts.natural_end() if settings.natural_end < 1 else NO_NATURAL_END,
            prefixes=PrefixCache(),  # a subreddit's prompts begin alike, a regeneration's wholly
            share_prompts=settings.share_prompts,
        )
        # One caller at a time steps the decoder (it is not thread-safe); the others wait for
        # that step, which moves their rows too, and are woken after it.
        self._stepped = threading.Condition()
        self._driving = False
        # what the steps free goes back to the system now and then (see generation.malloc)
        self.trimmer = malloc.Trimmer()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """Replies for all requests; returns when they are done, whatever else is decoding."""
        started = self._clock()
        prompts = [self._prompt(request) for request in requests]
        rows = [row for i, r in enumerate(requests) for row in self._rows(i, r, prompts[i])]
        pending = self.decoder.submit(rows)  # joins at the next step, whoever takes it
        by_request: dict[int, list] = {}
        for row, done in zip(rows, pending, strict=True):
            by_request.setdefault(row.request_index, []).append((row, done))
        latency: dict[int, float] = {}  # each request's own, from this call to its last row
        # No decoding thread of our own: every caller with rows still pending drives the shared
        # decoder one step at a time, which moves every caller's rows forward.
        while len(latency) < len(requests):
            self._step_or_wait(pending)
            now = self._clock()
            for i, decoded in by_request.items():
                if i not in latency and all(done.done for _, done in decoded):
                    latency[i] = now - started
        failed = next((p.error for p in pending if p.error is not None), None)
        if failed is not None:
            raise failed
        return [
            self._record(r, prompts[i], by_request[i], latency[i]) for i, r in enumerate(requests)
        ]

    def _step_or_wait(self, pending) -> None:
        """Take one step of the shared decoder, or wait for the step another caller is taking
        (a lock taken step by step would let the caller holding it starve the others)."""
        with self._stepped:
            if self._driving:
                self._stepped.wait(timeout=1.0)  # bounded: a missed wake-up costs a second
                return
            self._driving = True
        try:
            if not all(p.done for p in pending):
                self._step()
        finally:
            with self._stepped:
                self._driving = False
                self._stepped.notify_all()

    def _step(self) -> None:
        try:
            decoded = self.decoder.step()
        except Exception as exc:  # every row in flight is lost: their callers raise it too
            self.decoder.abort(exc)
            raise
        if self._on_step is not None:
            self._on_step(decoded)
        self.trimmer.maybe(force=not self.decoder.busy)  # at once when the batch is over

    def _prompt(self, request: GenerationRequest) -> str:
        budget = self._prompt_budget(request.params.max_new_tokens)
        return build_prompt(
            request, self.prompts, budget, self.settings.persona, self.settings.prompt_format
        )

    def _prompt_budget(self, max_new_tokens: int) -> int:
        context = min(self.settings.max_context_tokens, self.loaded.context_length)
        return context - max_new_tokens - REPLY_HEADROOM_TOKENS

    def _rows(self, index: int, request: GenerationRequest, prompt: str) -> list[DecodeRow]:
        ids = tuple(self.prompts.encode(prompt))
        params = request.params
        natural = math.ceil(params.max_new_tokens * self.settings.natural_end)
        return [
            DecodeRow(
                index,
                k,
                ids,
                params,
                None if params.seed is None else params.seed + k,
                natural_end_after=natural if self.settings.natural_end < 1 else None,
            )  # fmt: skip
            for k in range(max(1, params.n))
        ]

    def _record(self, request, prompt: str, decoded, latency: float) -> Generation:
        decoded.sort(key=lambda item: item[0].candidate_index)
        return Generation(
            key=request.key,
            model_id=self.loaded.model_id,
            prompt=prompt,
            params=self._params(request),
            candidates=tuple(self._candidate(done.result) for _, done in decoded),
            tokens_in=len(decoded[0][0].prompt_ids),
            latency_s=latency,
            backend=self.backend,
        )

    def _params(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            **asdict(request.params),
            "device": self.loaded.device,
            "dtype": self.loaded.dtype,
            "quantize_int8": self.loaded.quantized,
            "max_context_tokens": min(self.settings.max_context_tokens, self.loaded.context_length),
        }

    def _candidate(self, result: RowResult) -> Candidate:
        raw = self.loaded.tokenizer.decode(result.token_ids, skip_special_tokens=False)
        truncated = result.finish_reason == "length"
        stops = TRANSCRIPT_STOPS if self.transcript else self.prompts.stops
        text = postprocess_reply(self._strip_specials(raw), stops, truncated)
        return Candidate(
            text=text,
            tokens_out=len(result.token_ids),
            mean_logprob=result.mean_logprob,
            finish_reason=result.finish_reason,
        )

    def _strip_specials(self, text: str) -> str:
        """Cut at the first special token (a turn boundary), then drop any that remain."""
        for token in self.prompts.special_tokens:
            position = text.find(token)
            if position >= 0:
                text = text[:position]
        return text
