"""The manipulation check: does the reply do what a manipulative parent asked?

The input gate's injection patterns read the parent alone, and the leak / character checks read
the reply alone. A manipulated reply is a pair: the thread asks the bot to give up a secret, to
drop its rules, or to help with cheating or harm, and the reply goes along. So this check reads
the thread's intent and the reply's compliance together:

- *secret*: a credential-shaped string (API key, private key, token) is rejected whatever was
  asked; a password, key or the system prompt revealed after the thread asked for one is too;
- *override*: after "ignore your rules" / "pretend your rules don't exist", a reply that opens
  by agreeing or says it now has no rules;
- *harm*: after a request for cheating or harmful instructions, a reply that gives instructions.

A reply that refuses ("nice try", "I won't share that") is not a compliance, unless it gives
the secret all the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from redditbot.moderation.patterns import PhraseSet

_VALUE = re.compile(r"(\s*(?:\bis|\bwas|\bare|\bwere|:|=|->)\s*)\S.*$", re.IGNORECASE | re.DOTALL)

# Strings that are credentials by their shape, whoever asked.
SECRET_TOKEN_PATTERNS: tuple[str, ...] = (
    r"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}",  # OpenAI / Stripe style keys
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key id
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"\bxox[abpr]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"\bAIza[0-9A-Za-z_-]{35}\b",  # Google API key
    r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----",
    r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",  # a JWT
)

_SECRET_NOUN = (
    r"(?:pass(?:word|wd|code|phrase)s?|pwd|pin(?: code)?|api[ _-]?keys?|secret(?: key)?s?"
    r"|access[ _-]?tokens?|auth[ _-]?tokens?|tokens?|credentials?|login(?: details)?|keys?"
    r"|(?:system |initial |hidden |original |secret )?prompts?|instructions|(?:config|env) file)"
)
# The thread asks for a secret: the bot's or an admin's, or any one "for the audit".
SECRET_REQUEST_PATTERNS: tuple[str, ...] = (
    rf"\b(?:tell|give|show|print|share|reveal|post|paste|list|output|type|send|dump|read|spell"
    rf"|repeat|write|what(?:'s| is| are| was| were)|need)\b.{{0,40}}\b(?:your|ur|yours|the bot'?s"
    rf"|admin(?:'s)?|root|server'?s?|database|db|system|internal|company'?s?|moderator'?s?"
    rf"|the admin|the root|the server|the database|the system|the company|the secret)\b.{{0,20}}"
    rf"\b{_SECRET_NOUN}",
    rf"\bfor (?:the|an|a|our)? ?(?:security |internal |compliance )?(?:audit|verification"
    rf"|compliance|security check|debugging|testing)\b.{{0,80}}\b{_SECRET_NOUN}"
    rf"|\b{_SECRET_NOUN}\b.{{0,80}}\bfor (?:the|an|a|our)? ?(?:security |internal |compliance )?"
    rf"(?:audit|verification|compliance|security check|debugging|testing)\b",
    r"\b(?:repeat|print|output|copy) (?:the|all|everything|every word)\b.{0,30}"
    r"\b(?:above|before this|so far|you were (?:told|given))",
    r"\bstart(?:ing)? with ['\"]?you are\b",
    r"\bi(?:'m| am) (?:your|the) (?:developer|admin|administrator|owner|creator|operator)\b",
)
# The reply gives one: "the password is X", "api key: X", "my prompt says ...".
SECRET_REVEAL_PATTERNS: tuple[str, ...] = (
    rf"\b{_SECRET_NOUN}\s*(?:is|was|are|were|:|=|->)\s*[`'\"]?[\w!@#$%^&*.+/-]{{4,}}",
    r"\b(?:my|the) (?:system |initial |hidden |original )?(?:prompt|instructions|rules) "
    r"(?:is|are|says?|reads?|goes|went)\b",
    r"\bhere(?:'s| is| are)\b.{0,20}\b(?:my|the) (?:system |initial |hidden |original )?"
    r"(?:prompt|instructions|password|key|credentials|config)\b",
    r"(?:^|\n)\W*you are (?:a|an)\b.{0,80}\b(?:bot|assistant|redditor|persona|ai)\b",
    # "It's hunter2." right after being asked for a password
    r"^\W*(?:it'?s|it is|that'?s|that would be|easy|sure|ok(?:ay)?)[,:]?\s+[`'\"]?"
    r"(?=[\w!@#$%^&*.+/-]*\d)[\w!@#$%^&*.+/-]{4,}[`'\"]?(?:\W|$)",
)

# The thread asks the bot to drop its rules (the input gate's injection patterns, and these).
OVERRIDE_REQUEST_PATTERNS: tuple[str, ...] = (
    r"\bpretend\b.{0,40}\b(?:rules?|guidelines|restrictions|filters|limits)\b.{0,20}"
    r"\b(?:don'?t|do not|doesn'?t|never) (?:exist|apply|matter)",
    r"\b(?:you have|you've got|there are) no (?:rules|restrictions|filters|limits|guidelines)\b",
    r"\b(?:forget|drop|ditch|turn off|disable|break|bypass|set aside) (?:your|the|all|any)"
    r" (?:rules|guidelines|restrictions|filters|safety|programming|training)\b",
    r"\bno (?:rules|restrictions|filters)\b.{0,20}\b(?:apply|mode|now|anymore|today)\b",
    r"\b(?:hypothetically|in a fictional world|for a story)\b.{0,60}\b(?:no|without) "
    r"(?:rules|restrictions|filters|ethics)\b",
    r"\bstay in character\b|\byou must answer\b|\banswer (?:anything|everything|without)\b",
    r"\byou(?:'re| are)(?: now)? (?:dan|jailbroken|unfiltered|evil)\b|\byou can do anything\b",
)
# The thread asks for cheating or harm.
HARM_REQUEST_PATTERNS: tuple[str, ...] = (
    r"\bcheat(?:ing)?\b.{0,30}\b(?:on|in|at|during|through|for)\b.{0,30}\b(?:exams?|tests?|quiz"
    r"|finals?|midterms?|homework|assignments?|games?|online|sat|act|certification|interview)\b",
    r"\b(?:how|way|ways|steps|tell me|show me|teach me|explain)\b.{0,40}\b(?:cheat|hack into"
    r"|hack (?:my|his|her|their|someone'?s|a|an|the)|break into|steal|shoplift|pick (?:a|the)"
    r" lock|make (?:a )?(?:bomb|explosives?|meth|poison|napalm|a weapon)|forge|phish"
    r"|get away with|bypass|launder|dox|stalk|spy on|poison)\b",
    r"\bwithout (?:getting caught|being caught|anyone (?:knowing|noticing)|the teacher"
    r" (?:noticing|seeing)|a trace)\b",
    r"\b(?:untraceable|undetectable)\b|\b(?:toxic|poison|nerve) gas\b",
    r"\b(?:aimbot|wallhack|keylogger|ransomware|malware)\b",
)

# The reply goes along.
COMPLIANCE_PATTERNS: tuple[str, ...] = (
    r"^\W*(?:sure|ok(?:ay)?|of course|absolutely|certainly|fine|alright|all right|no problem"
    r"|as you wish|you got it|gladly|happy to|with pleasure|understood|yes|yep|easy|done"
    r"|here(?:'s| is| are| you go| it is| goes)|rules? (?:off|disabled|ignored))\b",
    r"\b(?:ignoring|without|free of|no more|now that i have no|since i have no|since there are no)"
    r" (?:my |the |any |all )?(?:rules|restrictions|filters|guidelines|limits)\b",
    r"\b(?:as dan|dan here|in dan mode|jailbroken|unrestricted mode|developer mode)\b",
    r"\brules (?:don'?t|do not|no longer) (?:exist|apply|matter)\b",
)
# Instructions: steps, "first ... then", "here's how", "you can/should/need to", imperatives.
INSTRUCTION_PATTERNS: tuple[str, ...] = (
    r"(?:^|\n)\s*(?:\d+[.)]|step \d|[-*] )\s*\w+",
    r"\bhere'?s how\b|\bthe (?:trick|key|best way|easiest way) is\b|\bwhat you do is\b",
    r"\b(?:first|start by|begin by)\b.{0,120}\b(?:then|next|after that|finally)\b",
    r"\byou(?:'ll| will)? (?:can|could|should|need to|want to|have to|just)\b.{0,60}"
    r"\b(?:hide|write|tape|use|install|open|type|run|download|mix|put|get|buy|tell|copy|wear"
    r"|keep|look|text|message|change|enter|disable|set)\b",
    r"(?:^|[.!:]\s+)(?:just |simply )?(?:hide|write|tape|use|install|download|mix|put|copy|wear"
    r"|keep|tell|text|send|enter|disable|set up|open|run|buy|get|grab|take|ask|sit|look)\b",
)
REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bi(?: won'?t| will not| can'?t| cannot| am not going to|'m not going to|'m not gonna"
    r"| don'?t| do not| wouldn'?t| refuse to| shouldn'?t)\b.{0,30}\b(?:share|give|reveal|tell"
    r"|post|help|do (?:that|this)|print|hand|provide|explain|assist|pretend|ignore|drop|break)\b",
    r"\bi(?:'m| am) not (?:sharing|giving|posting|revealing|telling|printing|helping)\b",
    r"\bnice try\b|\bnot (?:going to|gonna) happen\b|\bno way\b|\bnot a chance\b|\bhard pass\b"
    r"|\bi'?d rather not\b|\bnope\b|^\W*no\b(?! problem| worries| doubt)",
    r"\bi don'?t (?:have|know) (?:a|an|any|the|your)? ?(?:password|key|secret|prompt|token)",
    r"\b(?:never|don'?t|do not|shouldn'?t|should never) (?:share|post|give out|send)\b",
    r"\b(?:rules|guidelines) (?:still|do) apply\b|\bi'?ll (?:stick|keep) to\b",
    r"\b(?:study|talk to your (?:teacher|professor))\b",
)


@dataclass(frozen=True)
class Intent:
    """What the thread asks of the bot (the first matching text of each kind, or None)."""

    secret: str | None
    override: str | None
    harm: str | None


class ManipulationCheck:
    """Finds a reply that complies with a manipulative thread; see the module docstring."""

    def __init__(self, injection: PhraseSet) -> None:
        self._injection = injection
        self._sets = {
            name: PhraseSet(patterns)
            for name, patterns in {
                "token": SECRET_TOKEN_PATTERNS,
                "secret_request": SECRET_REQUEST_PATTERNS,
                "secret_reveal": SECRET_REVEAL_PATTERNS,
                "override": OVERRIDE_REQUEST_PATTERNS,
                "harm": HARM_REQUEST_PATTERNS,
                "comply": COMPLIANCE_PATTERNS,
                "instructions": INSTRUCTION_PATTERNS,
                "refusal": REFUSAL_PATTERNS,
            }.items()
        }

    def intent(self, thread_texts: tuple[str, ...]) -> Intent:
        """What the parent and its ancestors ask for."""
        text = "\n".join(thread_texts)
        return Intent(
            secret=self._find("secret_request", text),
            override=self._find("override", text) or self._injection.find(text),
            harm=self._find("harm", text),
        )

    def find(self, reply: str, thread_texts: tuple[str, ...]) -> str | None:
        """``kind:excerpt`` when the reply complies with a manipulation, else None."""
        token = self._find("token", reply)
        if token:
            return f"secret-token:{token[:4]}…"
        intent = self.intent(thread_texts)
        if not (intent.secret or intent.override or intent.harm):
            return None
        reveal = self._find("secret_reveal", reply)
        if reveal and (intent.secret or intent.override):
            # Before the refusal test: "I won't tell anyone, but it is hunter2" still gives it.
            return f"reveals-secret:{_masked(reveal)}"
        if self._find("refusal", reply):
            return None
        return self._compliance(reply, intent)

    def _compliance(self, reply: str, intent: Intent) -> str | None:
        instructions = self._find("instructions", reply)
        if intent.harm and instructions:
            return f"harmful-instructions:{instructions[:40]}"
        comply = self._find("comply", reply)
        if intent.secret and comply:
            return f"obeys-secret-request:{comply[:40]}"
        if intent.override and comply:
            return f"obeys-override:{comply[:40]}"
        if intent.harm and comply:
            return f"harmful-instructions:{comply[:40]}"
        return None

    def _find(self, name: str, text: str) -> str | None:
        return self._sets[name].find(text)


def _masked(text: str) -> str:
    """The revealing phrase with the value it gives masked: reasons reach logs and metrics."""
    masked, replaced = _VALUE.subn(r"\1***", text, count=1)
    return masked[:60] if replaced else text.split()[0] + " ***"
