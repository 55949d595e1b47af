"""Plain-text helpers shared by the checks: words, links, pings, similarity, repetition."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher
from urllib.parse import urlsplit

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+")
_TOKEN = re.compile(r"\S+")
_BARE_TLDS = (
    "com|net|org|io|co|biz|info|xyz|ru|cn|top|club|online|site|shop|store|app|dev|me|us|uk|"
    "de|tk|ly|gg|tv|cc|ws|su|pw|live|link|click|win|loan|vip|icu|ee|nz|gl|ai|ca|au|eu|fr|nl|ie"
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"')\]]+"
    rf"|(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_BARE_TLDS})\b(?:/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)
_BARE_DOMAIN_START = re.compile(r"[a-z0-9]", re.IGNORECASE)
_CODE_SPAN = re.compile(r"```.*?(?:```|$)|`[^`\n]+`", re.DOTALL)
# "log.info", "self.me", "req.app", "df.info": attribute access on a usual code name, not a link
# (a TLD list that holds info, app, dev, me and io matches a lot of code).
# fmt: off
_CODE_RECEIVERS = frozenset({
    "log", "logger", "logging", "self", "this", "cls", "app", "req", "res", "request", "response",
    "os", "sys", "df", "np", "pd", "plt", "torch", "tf", "nn", "window", "document", "console",
    "config", "settings", "conf", "ctx", "context", "module", "exports", "process", "args",
    "kwargs", "event", "evt", "err", "error", "obj", "data", "client", "server", "db", "api",
    "util", "utils", "json", "http", "re", "math", "time", "datetime", "random", "path", "file",
    "files", "user", "item", "node", "el", "elem",
})
# fmt: on
# Reddit turns u/name and r/name into links whatever their case (U/Name, R/Name).
_USER_PING = re.compile(r"(?<![\w/])/?u/[A-Za-z0-9_-]{3,20}\b", re.IGNORECASE)
_SUBREDDIT_PING = re.compile(r"(?<![\w/])/?r/[A-Za-z0-9_]{2,21}\b", re.IGNORECASE)
_VOWELS = set("aeiouyàáâäåæèéêëìíîïòóôöøœùúûü")
_CONSONANT_RUN = re.compile(rf"[^{''.join(sorted(_VOWELS))}\W\d_]{{5,}}")  # é, ø count as vowels
_SAME_LETTER_RUN = re.compile(r"(.)\1\1")
_NUMBER = re.compile(r"[$€£#+]?\d[\d.,:/%x-]*")
_UNIT_LOOP = re.compile(r"(.{2,4}?)\1{3,}")  # hahahahaha, lolololo
# Letters of real alphabets that NFKD does not reduce to ASCII; other such Latin letters
# (ŧ ħ ŋ ɱ) in bulk are stylised fake text, not a language.
_ORTHOGRAPHIC = frozenset("æøœßþðłđı")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, apostrophes inside words, digit runs)."""
    return [w.lower() for w in _WORD.findall(text)]


def find_urls(text: str) -> list[str]:
    """Links in the text: with a scheme, starting with www., or a bare domain with a known TLD.

    A bare domain is not a link when it is code: inside backticks, called (``log.info(``), or
    an attribute of a usual code name (``logger.info``). Links with a scheme always count."""
    code = [m.span() for m in _CODE_SPAN.finditer(text)]
    urls = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?`*")
        if _is_bare(url) and _looks_like_code(text, match, code):
            continue
        urls.append(url)
    return urls


def _is_bare(url: str) -> bool:
    return "://" not in url and not url.lower().startswith("www.")


def _looks_like_code(text: str, match: re.Match[str], code: list[tuple[int, int]]) -> bool:
    start, end = match.span()
    if any(low <= start < high for low, high in code):
        return True
    if text[end : end + 1] in ("(", "[", "=") or text[start - 1 : start] == ".":
        return True
    return match.group(0).split(".", 1)[0].lower() in _CODE_RECEIVERS


def domain_of(url: str) -> str:
    """The host of a link, lower-cased, without a leading ``www.``."""
    with_scheme = url if "://" in url else f"http://{url}"
    host = (urlsplit(with_scheme).hostname or "").lower()
    return host.removeprefix("www.")


def domain_allowed(domain: str, allowed: list[str]) -> bool:
    """True when the domain is an allowed one or a subdomain of one."""
    return any(domain == a.lower() or domain.endswith("." + a.lower()) for a in allowed)


def user_pings(text: str) -> list[str]:
    """``u/name`` mentions (these notify the user)."""
    return _USER_PING.findall(text)


def subreddit_pings(text: str) -> list[str]:
    """``r/name`` mentions."""
    return _SUBREDDIT_PING.findall(text)


def similarity(draft: str, other: str, *, ngram: int = 3) -> float:
    """How much of ``draft`` is ``other``: the larger of a word-level sequence ratio and the
    share of the draft's word n-grams found in ``other`` (catches a quote plus a few words)."""
    draft_words, other_words = words(draft), words(other)
    if not draft_words or not other_words:
        return 0.0
    ratio = SequenceMatcher(None, draft_words, other_words, autojunk=False).ratio()
    return max(ratio, containment(draft_words, other_words, ngram))


def containment(draft_words: list[str], other_words: list[str], n: int) -> float:
    """Share of the draft's word n-grams that also occur in the other text."""
    draft_grams = ngrams(draft_words, n)
    if not draft_grams:
        return 0.0
    other_grams = set(ngrams(other_words, n))
    return sum(g in other_grams for g in draft_grams) / len(draft_grams)


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """Consecutive n-grams of a token list."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def repeated_ngram_ratio(text: str, n: int) -> float:
    """Share of word n-grams that repeat an earlier one (0 for text too short to tell).

    Texts too short for ``n``-grams fall back to single words, so "no no no no no" counts."""
    tokens = words(text)
    grams = ngrams(tokens, n)
    if len(grams) < 4:
        grams = ngrams(tokens, 1)
    if len(grams) < 5:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def repeated_line_ratio(text: str) -> float:
    """Share of non-empty lines that repeat an earlier line (0 with fewer than 3 lines)."""
    lines = [line.strip().lower() for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        return 0.0
    return sum(c - 1 for c in Counter(lines).values()) / len(lines)


def word_ratio(text: str) -> float:
    """Share of whitespace tokens that look like real words (1.0 for an empty text)."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return 1.0
    return sum(looks_like_word(t) for t in tokens) / len(tokens)


def looks_like_word(token: str) -> bool:
    """A cheap test for "this is a word, a number or a link", not keyboard mash or symbols."""
    if find_urls(token) or token.strip("()[]*_~>").lstrip("/").startswith(("u/", "r/")):
        return True
    core = token.strip(".,;:!?\"'()[]*_~>-").lower()
    if _NUMBER.fullmatch(core):
        return True
    if not core or not any(ch.isalpha() for ch in core) or len(core) > 24:
        return False
    letters = re.sub(r"[^\w']", "", core)
    # Short vowel-less tokens are usually abbreviations (npm, ssn, brb), not keyboard mash.
    has_vowel = any(ch in _VOWELS for ch in letters) or len(letters) <= 4
    mashed = _CONSONANT_RUN.search(letters) or _SAME_LETTER_RUN.search(letters)
    return has_vowel and not mashed and not _UNIT_LOOP.search(letters) and _plain_letters(core)


def _plain_letters(token: str) -> bool:
    """False for Zalgo (stacked combining marks), words mixing Latin with Cyrillic or Greek
    letters (look-alike obfuscation), and stylised letters (ŧħïş ïş ņøŧ ŧëxŧ, ţħë ɓëşŧ)."""
    marks = sum(unicodedata.category(ch) == "Mn" for ch in token)
    if marks * 3 > len(token):
        return False
    letters = [ch for ch in token if ch.isalpha()]
    scripts = {unicodedata.name(ch, "?").split(" ")[0] for ch in letters}
    if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
        return False
    fake = sum(_fake_latin(ch) for ch in letters)
    accented = sum(not ch.isascii() and "LATIN" in unicodedata.name(ch, "") for ch in letters)
    # Under 40 % fake letters, and (from 3 letters on) under 60 % letters with diacritics.
    return fake * 5 < len(letters) * 2 and (len(letters) < 3 or accented * 5 < len(letters) * 3)


def _fake_latin(ch: str) -> bool:
    if ch.isascii() or ch in _ORTHOGRAPHIC:
        return False
    base = unicodedata.normalize("NFKD", ch)[0]
    return not base.isascii() and unicodedata.name(ch, "").startswith("LATIN")
