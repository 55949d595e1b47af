"""Disclosure: every reply and every original post says that a bot wrote it.

Reddit asks automated accounts to say so (Responsible Builder Policy, Bottiquette). The footer is
appended in one place, at posting time, by ``disclosed``; the text stored as posted is the text
with its footer, so the history shows what Reddit got. Turning it off takes ``disclose = false``.
"""

from __future__ import annotations

DEFAULT_FOOTER = "^(I am a bot. This was written automatically.)"
SEPARATOR = "\n\n---\n"
REDDIT_COMMENT_LIMIT = 10_000  # characters Reddit accepts in one comment
REDDIT_SELFPOST_LIMIT = 40_000  # characters Reddit accepts in a self-post's body


def disclosed(text: str, footer: str) -> str:
    """``text`` with ``footer`` under a rule; unchanged when the footer is empty or already there.

    Idempotent, so a job sent again after reconciliation never gets a second footer.
    """
    if not footer or text.endswith(SEPARATOR + footer):
        return text
    return f"{text}{SEPARATOR}{footer}"


def footer_cost(footer: str) -> int:
    """Characters the footer adds to a text (0 when there is none)."""
    return len(SEPARATOR) + len(footer) if footer else 0
