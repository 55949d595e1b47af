"""Settings for original posts: when the bot may open a thread of its own in a subreddit.

Either ``every_hours`` (slots at fixed UTC multiples of N hours) or ``times`` (UTC "HH:MM" slots
every day). Each slot gets at most one post, delayed by a per-slot ``jitter_minutes`` and capped
by ``max_per_day``.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TITLE_LIMIT = 300  # Reddit refuses longer titles
_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class OriginalPostSettings(BaseModel):
    """One subreddit's schedule and shape for self-posts the bot starts itself."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="start threads in this subreddit")
    every_hours: float | None = Field(
        None, gt=0, le=24 * 7, description="one slot every N hours (UTC, from midnight)"
    )
    times: list[str] = Field(default_factory=list, description='UTC slots, e.g. ["09:00", "18:30"]')
    jitter_minutes: int = Field(0, ge=0, le=24 * 60, description="random delay after a slot")
    max_per_day: int = Field(1, ge=0, le=48, description="most posts per UTC day")
    flair_id: str | None = Field(None, description="post flair template id")
    flair_text: str | None = Field(None, description="post flair text")
    few_shot: int = Field(3, ge=0, le=10, description="stored threads shown to the model")
    title_max_chars: int = Field(TITLE_LIMIT, ge=10, le=TITLE_LIMIT, description="longest title")
    min_body_chars: int = Field(20, ge=0, description="shortest body worth posting")

    @field_validator("times")
    @classmethod
    def _valid_times(cls, times: list[str]) -> list[str]:
        bad = [t for t in times if not _HH_MM.fullmatch(t)]
        if bad:
            raise ValueError(f'times must be "HH:MM" (UTC, 00:00-23:59), got {bad}')
        return sorted(set(times))

    @model_validator(mode="after")
    def _one_schedule(self) -> OriginalPostSettings:
        if self.enabled and (self.every_hours is None) == (not self.times):
            raise ValueError("set exactly one of every_hours or times when enabled")
        return self
