"""The built-in word list: slurs, threats and abuse that no reply may contain, whatever the
classifier says. Matching is done on a normalised form (lower case, leetspeak undone, letter runs
collapsed) on both sides, so "k1lll yourself" and "kill yourself" compare equal."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Kept short on purpose: the classifier covers general profanity; this list is for what must
# never pass even when the classifier scores it low (slurs, self-harm incitement, threats).
BUILTIN_TERMS: tuple[str, ...] = (
    "kill yourself",
    "kill urself",
    "kys",
    "go die",
    "hope you die",
    "neck yourself",
    "drink bleach",
    "i will kill you",
    "i'll kill you",
    "i will find you",
    "nigger",
    "nigga",
    "faggot",
    "fag",
    "retard",
    "retarded",
    "tranny",
    "spic",
    "chink",
    "kike",
    "wetback",
    "raghead",
    "cunt",
    "whore",
    "slut",
    "subhuman",
    "piece of shit",
    "worthless piece",
    "stupid bitch",
    "dumb bitch",
    "fuck you",
    "fuck off",
    "shut the fuck up",
    "stfu",
)

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_RUNS = re.compile(r"(\w)\1+")
_SEPARATORS = re.compile(r"[\s*_.\-]+")


def normalise(text: str) -> str:
    """Lower-case, undo leetspeak, collapse runs of a letter and of separators to one."""
    lowered = text.lower().translate(_LEET)
    return _RUNS.sub(r"\1", _SEPARATORS.sub(" ", lowered))


class WordList:
    """Whole-word (or whole-phrase) matcher over normalised text."""

    def __init__(self, terms: Iterable[str]) -> None:
        alternatives = sorted({normalise(t).strip() for t in terms if t.strip()}, key=len)
        body = "|".join(re.escape(a) for a in reversed(alternatives)) or r"(?!x)x"
        self._pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)")

    def find(self, text: str) -> list[str]:
        """The listed terms present in the text (normalised spelling)."""
        return self._pattern.findall(normalise(text))
