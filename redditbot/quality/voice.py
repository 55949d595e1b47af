"""Assistant-speak: the phrases of a chat assistant that no redditor writes.

A small instruction-tuned model falls back on them ("I'm sorry for any confusion", "I'd be happy
to help", "Here's a summary") whenever it is unsure; on Reddit they read as a bot at once.
Reranking penalises a candidate that has any, and the hard filter (``[quality]
assistant_speak_filter``) keeps it from being posted at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

ASSISTANT_SPEAK = (
    r"\bI'?m (?:so |very |truly |really )?sorry\b",
    r"\bI apologi[sz]e\b",
    r"\bapologi[sz]e for (?:any|the) (?:confusion|misunderstanding|inconvenience)\b",
    r"\b(?:any|the) (?:confusion|misunderstanding|inconvenience) (?:this|that|it) (?:may|might)\b",
    r"\bI'?d be (?:happy|glad|delighted) to\b",
    r"\bI(?:'m| am) (?:happy|glad|here) to (?:help|assist)\b",
    r"\bhappy to (?:help|assist)\b",
    r"\bhow (?:can|may) I (?:help|assist)\b",
    r"\b(?:let me know|feel free to (?:ask|reach out))\b.*\b(?:help|questions?|assist)",
    r"\bas an? (?:AI|language model|assistant|chatbot)\b",
    r"\bI(?:'m| am) (?:just )?an? (?:AI|language model|virtual assistant|chatbot)\b",
    r"\b(?:great|good|excellent|interesting) questions?\b",
    r"\bI hope (?:this|that|it) (?:helps|answers|clarifies)\b",
    r"\bhope (?:this|that) helps\b",
    r"\bhere(?:'s| is) (?:a|the) (?:summary|breakdown|rewritten|revised|list)\b",
    r"\bhere are (?:some|a few) (?:tips|suggestions|ideas|ways|steps)\b",
    r"\bthank you for (?:sharing|reaching out|your question|asking|bringing)\b",
    r"\bthanks for (?:sharing|reaching out|your question)\b",
    r"\bI (?:understand|can see) (?:your|that you(?:'re| are)) (?:frustrat|concern|confus)",
    r"\bit(?:'s| is) (?:important|essential|crucial) to (?:note|remember|consider)\b",
    r"\bin (?:summary|conclusion)\b",
    r"\bcertainly!|\babsolutely!|\bof course!",
    r"\byour (?:original )?(?:message|text|query|request)\b",
    r"\bI (?:can(?:not|'t)|am unable to) (?:help|assist|provide|browse|access)\b",
)
_PATTERNS = tuple(re.compile(p, re.IGNORECASE) for p in ASSISTANT_SPEAK)


def assistant_phrases(text: str, patterns: Iterable[re.Pattern[str]] = _PATTERNS) -> list[str]:
    """The assistant-speak phrases found in ``text``, in order of the pattern list."""
    found = []
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            found.append(match.group(0))
    return found


def compile_phrases(extra: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """The built-in patterns plus an operator's own (regular expressions, case-insensitive)."""
    return _PATTERNS + tuple(re.compile(p, re.IGNORECASE) for p in extra)


CHARS_PER_TOKEN = 3.5  # English Reddit text in a GPT-2-style vocabulary, a little pessimistic
BUDGET_SAMPLES = 5  # fewer stored replies than this say nothing about a subreddit
BUDGET_QUANTILE = 0.9
BUDGET_FLOOR_TOKENS = 24


def length_budget(lengths: Sequence[int]) -> int | None:
    """A reply's token limit from a subreddit's human reply lengths (characters), or None.

    The 90th-percentile human reply, in tokens: long enough for nearly every reply people
    write there, short enough that the model stops rambling where they would have stopped.
    """
    usable = sorted(n for n in lengths if n > 0)
    if len(usable) < BUDGET_SAMPLES:
        return None
    longest = usable[min(len(usable) - 1, int(BUDGET_QUANTILE * len(usable)))]
    return max(BUDGET_FLOOR_TOKENS, math.ceil(longest / CHARS_PER_TOKEN))
