"""Output hygiene: a reply that carries chat-template residue or goes on past its own turn.

The generator strips special tokens at the very edges of a reply (``redditbot.generation.text.
strip_edge_markers``). What is left here means the model wrote more than its reply: a special
token inside the text, a role label that opens a new turn (``Human:``, ``### Instruction``,
``<start_of_turn>user``), or the scaffolding of the bot's own prompt (``u/name replied:``,
``Write your reply to ...``). Such a reply is rejected, not repaired: the part after the label
is the model talking to itself, and the part before it was written expecting to go on.
"""

from __future__ import annotations

import re

from redditbot.generation.prompts import DATA_RULES
from redditbot.generation.text import CHAT_MARKER

# A role label at the start of a line (or right after a sentence), followed by the turn's text.
# "Input:" / "Output:" / "Response:" alone are common in code answers, so they count only as
# markdown headings (### Response), the way instruction-tuning templates write them.
_ROLE_LABEL = re.compile(
    r"(?:^|\n|(?<=[.!?]) )[ \t>*_]*"
    r"(?:(?:human|assistant|user|system|gpt|chatgpt|ai assistant)[ \t]*:"
    r"|#{2,6}[ \t]*(?:human|assistant|user|system|instruction|response|input|output|context)"
    r"\b[ \t]*:?)",
    re.IGNORECASE,
)
# The lines the bot's prompt is made of (redditbot.generation.prompts._thread_text).
_SCAFFOLDING = re.compile(
    r"(?:^|\n|(?<=[.!?]) )[ \t]*(?:u/[\w-]+ (?:replied|posted|wrote):[ \t]*(?:\n|$)"
    r"|in r/\w+, u/[\w-]+ posted:"
    r"|write your reply to (?:u/[\w-]+|this post)\.)",
    re.IGNORECASE,
)
_LABEL_EDGES = " \t\n>*_"
_DATA_RULES_START = DATA_RULES[:60].lower()


def template_artifact(text: str) -> str | None:
    """What in ``text`` is chat-template residue or a new turn, as ``kind:excerpt``; or None."""
    token = CHAT_MARKER.search(text)
    if token:
        return f"token:{token.group(0)}"
    label = _ROLE_LABEL.search(text)
    if label:
        return "role-label:" + label.group(0).strip(_LABEL_EDGES)
    scaffold = _SCAFFOLDING.search(text)
    if scaffold:
        return f"prompt-scaffolding:{scaffold.group(0).strip()}"
    if _DATA_RULES_START in text.lower():
        return "prompt-scaffolding:data-rules"
    return None
