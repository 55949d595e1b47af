"""Moderation: the input gate (should the bot answer this?) and the output gate (may this reply
be posted?), layered, fail-closed and auditable. The pipeline needs only these names."""

from redditbot.moderation.input_gate import TargetState, parse_opt_command
from redditbot.moderation.moderator import Moderator
from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.settings import (
    ModerationSettings,
    merge_moderation,
    settings_for_override,
)
from redditbot.moderation.verdicts import verdict_from_dict, verdict_to_dict

__all__ = [
    "ModerationSettings",
    "Moderator",
    "ReplyState",
    "TargetState",
    "merge_moderation",
    "parse_opt_command",
    "settings_for_override",
    "verdict_from_dict",
    "verdict_to_dict",
]
