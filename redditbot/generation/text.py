"""Text hygiene on both sides of the model: Reddit text going in, reply text coming out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Cc (control), Cf (format: zero-width, bidi overrides, BOM), Co (private use), Cs, Cn.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
_KEPT_CONTROLS = frozenset({"\n", "\t"})
# Special tokens of the common chat templates (ChatML <|im_start|>, Llama <|eot_id|> and
# [INST] <<SYS>>, <s> </s>, Gemma <start_of_turn>, <bos> <eos>). They must never reach the
# tokenizer from Reddit text (it would encode them as real turn boundaries), and the output gate
# rejects a reply that still carries one (redditbot.moderation.hygiene).
CHAT_MARKER = re.compile(
    r"<\|[^|<>\n]{0,40}\|>|\[/?INST\]|</?s>|<</?SYS>>|</?(?:start|end)_of_turn>"
    r"|<(?:bos|eos|pad|unk)>",
    re.IGNORECASE,
)
# What a model may leave at the very end (its end-of-turn token, the next turn's opening token)
# or the very start (a beginning-of-sequence token): residue, stripped rather than rejected.
_TRAILING_MARKERS = re.compile(rf"(?:\s*(?:{CHAT_MARKER.pattern}))+\s*$", re.IGNORECASE)
_LEADING_MARKERS = re.compile(r"^\s*(?:<s>|<bos>|<\|begin_of_text\|>|<\|startoftext\|>)+\s*")
_SENTENCE_END = re.compile(r"""[.!?…](?:["')\]*_»”’]*)(?=\s|$)""")
_SPACE_RUN = re.compile(r"[ \t\u00a0]+")
_BLANK_RUN = re.compile(r"\n{3,}")
_SPEAKER_PREFIX = re.compile(r"^(?:assistant|reply|response|bot)\s*:\s*", re.IGNORECASE)
_BULLET = re.compile(r"^(\s*)[•·▪●◦‣∙]\s*", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)


def clean_reddit_text(text: str | None, extra_markers: Iterable[str] = ()) -> str:
    """Reddit text made safe to quote: no control/invisible characters, no chat markers."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if _is_visible(ch))
    for marker in extra_markers:
        if marker:
            text = text.replace(marker, "")
    text = CHAT_MARKER.sub("", text)
    return normalize_whitespace(text)


def _is_visible(ch: str) -> bool:
    return ch in _KEPT_CONTROLS or unicodedata.category(ch) not in _INVISIBLE_CATEGORIES


def quote(text: str) -> str:
    """Markdown-quote every line, so quoted text cannot pose as a prompt line of its own."""
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def normalize_whitespace(text: str) -> str:
    """Single spaces, no trailing spaces, at most one blank line in a row, stripped."""
    lines = [_SPACE_RUN.sub(" ", line).rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def cut_at_stops(text: str, stops: Iterable[str]) -> tuple[str, bool]:
    """The text before the earliest stop string, and whether one was found."""
    positions = [text.find(stop) for stop in stops if stop and stop in text]
    if not positions:
        return text, False
    return text[: min(positions)], True


def trim_partial_sentence(text: str) -> str:
    """Drop an unfinished last sentence; text without any sentence end is kept whole."""
    stripped = text.rstrip()
    ends = list(_SENTENCE_END.finditer(stripped))
    return stripped[: ends[-1].end()] if ends else stripped


def normalize_markdown(text: str) -> str:
    """Reddit-friendly markdown: '-' bullets, no headings, no speaker label, fences closed."""
    text = _SPEAKER_PREFIX.sub("", text.lstrip())
    text = _BULLET.sub(r"\1- ", text)
    text = _HEADING.sub("", text)
    if text.count("```") % 2:
        text += "\n```"
    if text.count("**") % 2:
        head, _, tail = text.rpartition("**")
        text = head + tail
    return text


def strip_edge_markers(text: str) -> str:
    """The text without special tokens at its very start or end (``Sure!<|im_end|>``).

    Markers anywhere else, and role labels opening a new turn, are left in place on purpose:
    they mean the model went on past its turn, and the output gate rejects such a reply."""
    return _LEADING_MARKERS.sub("", _TRAILING_MARKERS.sub("", text))


def postprocess_reply(text: str, stops: Iterable[str] = (), truncated: bool = False) -> str:
    """The reply as it will be posted: cut at a stop, tidied, without a dangling sentence.

    A partial last sentence is trimmed only when the reply was ``truncated`` (it hit the token
    limit), since a complete reply may rightly end without punctuation.
    """
    text, _ = cut_at_stops(text, stops)
    text = strip_edge_markers(text)
    text = "".join(ch for ch in text if _is_visible(ch))
    text = normalize_whitespace(normalize_markdown(text))
    if truncated:
        text = trim_partial_sentence(text)
    return text
