"""The ``[moderation]`` section of bot.toml (owned by the moderation package)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ModerationSettings(BaseModel):
    """Which checks run and with which thresholds."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
