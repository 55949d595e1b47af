"""Phrase patterns: attempts to steer the bot (prompt injection), and replies that leak the prompt
or break character. Compiled per Moderator, not at import, so that there is no module state."""

from __future__ import annotations

import re
from collections.abc import Iterable

INJECTION_PATTERNS: tuple[str, ...] = (
    r"\b(ignor(e|ing)|disregard(ing)?|forget(ting)?|skip(ping)?|overrid(e|ing))\b.{0,30}\b(previous|prior|above|earlier|all|your"
    r"|the|any)\b.{0,20}\b(instructions?|prompts?|rules|directions|guidelines|programming)\b",
    r"\b(reveal|print|show|repeat|output|tell me|give me|paste|leak)\b.{0,25}\b(system|initial"
    r"|hidden|original|secret)\s+(prompt|instructions?|message)",
    r"\byou are now\b.{0,40}\b(dan|unrestricted|unfiltered|jailbroken|developer mode|no longer)\b",
    r"\b(act|acting|behave|behaving|respond|responding) as\b.{0,20}"
    r"\b(unfiltered|jailbroken|uncensored|unrestricted)\b",
    r"\bdo anything now\b|\bjailbreak\b|\bdeveloper mode\b",
    r"\b(new|updated|real) instructions?\s*:",
    r"(^|\n)\s*(system|assistant)\s*:",
    r"<\|im_start\|>|<\|system\|>|\[/?INST\]|<<SYS>>|### ?(instruction|system)",
    r"\bfrom now on\b.{0,20}\byou (will|must|are|shall)\b",
    r"\bpretend (you are|to be|that you)\b.{0,40}\b(no|without) (rules|restrictions|filters)",
    r"\bstay in (dan|character as)\b|\bwithout (any )?(restrictions|filters|censorship)\b",
)

LEAK_PATTERNS: tuple[str, ...] = (
    r"\b(my|the)\s+(system|initial|hidden|original|secret)\s+(prompt|instructions?)\b",
    r"\bmy (instructions|programming|guidelines) (are|says?|tells?|states?|were)\b",
    r"\bi (was|have been|am) (instructed|told|programmed|prompted) to\b",
    r"\b(developer mode|dan mode)\b.{0,15}\b(enabled|activated|on)\b",
    r"\bignoring (my|all|the) (previous|prior)? ?(instructions|rules)\b",
    r"\bmy persona\b|\bmy system (message|prompt)\b",
    r"\b(according to|as per|per|based on) my (prompt|instructions|system (prompt|message)"
    r"|guidelines|programming|persona|configuration)\b",
    r"\bi('m| am| was|'ve been| have been) (designed|configured|set up|programmed|instructed"
    r"|prompted) to (act|pretend|play|be|sound|respond|reply|talk|write|seem)\b",
    r"\bi('m| am) supposed to (act|pretend|sound|play|seem) (like|as|to be)\b",
    r"\bi('m| am) (role-?playing as|playing the role of|pretending to be) (a|an)\b",
    r"\bmy (creators?|developers?|operators?|owners?|programmers?) (told|instructed|want|wants"
    r"|programmed|asked|made) me\b",
    r"\bthe (instructions|rules|prompt) i (got|was given|received|have been given)\b",
)

CHARACTER_BREAK_PATTERNS: tuple[str, ...] = (
    r"\bas an? (ai|artificial intelligence)\b",
    r"\bas an? (large )?language model\b",
    r"\bi('m| am) (just |only |merely )?an? (ai|artificial intelligence|language model|chatbot"
    r"|virtual assistant|ai assistant|ai model)\b",
    r"\bi (don't|do not|cannot|can't) (have|hold) (personal )?(opinions|feelings|emotions|beliefs)"
    r"\b",
    r"\b(my|the) (training data|knowledge cutoff|knowledge cut-off)\b",
    r"\bi (cannot|can't|am unable to|am not able to) (browse|access) the (internet|web)\b",
    r"\bi('m| am) not able to (provide|fulfil|fulfill|comply)\b",
    r"\bi (cannot|can't) (fulfil|fulfill|comply with) (that|this|your) request\b",
)


class PhraseSet:
    """A named set of case-insensitive regexes; ``find`` returns the first hit."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._compiled = [re.compile(p, re.IGNORECASE | re.DOTALL) for p in patterns]

    def find(self, text: str) -> str | None:
        """The first matching text, or None."""
        for pattern in self._compiled:
            hit = pattern.search(text)
            if hit:
                return hit.group(0)
        return None
