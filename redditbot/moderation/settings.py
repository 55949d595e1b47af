"""The ``[moderation]`` section of bot.toml (owned by the moderation package).

Every table is strict (``extra="forbid"``) so that a typo in bot.toml is an error at load time,
not a silently ignored option. Per-subreddit overrides are partial dicts merged over the global
section with :func:`merge_moderation` and then validated with ``ModerationSettings.model_validate``.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from redditbot.moderation.personal_data import DEFAULT_PHONE_REGIONS, phone_region_known
from redditbot.moderation.rules import Rule, compile_pattern

Action = Literal["reject", "review"]
InjectionPolicy = Literal["reject", "review", "ignore"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputGateSettings(_Strict):
    """Input gate: which targets the bot refuses before generating anything."""

    known_bots: list[str] = Field(
        default_factory=lambda: ["AutoModerator"],
        description="account names never answered (case-insensitive)",
    )
    bot_name_patterns: list[str] = Field(
        default_factory=lambda: [r"(?i)(^|[-_])bot$", r"(?i)^bot[-_]"],
        description="regexes on the author name; a match marks the author as a bot",
    )
    skip_distinguished: bool = Field(
        True, description="never answer comments distinguished by moderators or admins"
    )
    max_depth: int = Field(8, ge=0, description="deepest comment depth the bot answers")
    max_replies_per_thread: int = Field(
        3, ge=0, description="replies the bot may make in one thread"
    )
    max_replies_per_user: int = Field(
        5, ge=0, description="replies the bot may make to one user (window counted by the store)"
    )
    blocked_users: list[str] = Field(
        default_factory=list, description="users never answered (case-insensitive)"
    )
    blocked_subreddits: list[str] = Field(
        default_factory=list, description="subreddits never answered (case-insensitive)"
    )
    allow_nsfw: bool = Field(False, description="answer targets marked over_18")
    injection_policy: InjectionPolicy = Field(
        "reject",
        description="targets that try to steer the bot: reject (skip), review, or ignore",
    )
    decline_hostile: bool = Field(
        True, description="skip targets the meaning classifier finds hostile"
    )
    hostile_threshold: float = Field(
        0.7, ge=0.0, le=1.0, description="a target scoring >= this in any category is skipped"
    )

    @field_validator("bot_name_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            compile_pattern(pattern, 0, where="input.bot_name_patterns")
        return patterns


class ToxicitySettings(_Strict):
    """The offline toxicity / profanity classifier and its thresholds."""

    classifier: Literal["profanity-check", "wordlist", "transformers", "none"] = Field(
        "profanity-check",
        description="profanity-check (alt-profanity-check's model), wordlist, transformers "
        "(model_path), or none",
    )
    reject_threshold: float = Field(0.85, ge=0.0, le=1.0, description="score >= this rejects")
    review_threshold: float = Field(
        0.6, ge=0.0, le=1.0, description="score >= this (and < reject) holds for review"
    )
    model_path: str | None = Field(
        None, description="local directory of a transformers text-classification model"
    )
    toxic_labels: list[str] = Field(
        default_factory=lambda: ["toxic", "toxicity", "LABEL_1", "offensive", "hate", "abusive"],
        description="labels of the transformers model that count as toxic",
    )
    wordlist: bool = Field(True, description="also reject on the built-in slur / abuse list")
    extra_words: list[str] = Field(
        default_factory=list, description="more words or phrases the word list rejects"
    )
    wordlist_action: Action = Field("reject", description="what a word-list hit asks for")


MEANING_CATEGORIES = ("identity_hate", "harassment", "threat", "sexual", "self_harm", "extremism")


class MeaningSettings(_Strict):
    """The meaning classifier (a head over sentence embeddings) and its thresholds."""

    enabled: bool = Field(True, description="judge replies by meaning as well as by words")
    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="one threshold for every category instead of the head's own (chosen by "
        "`redditbot train-moderation`); a category's score >= it fails the reply",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="per-category thresholds over `threshold` and the head's, e.g. {sexual = 0.8}",
    )
    action: Action = Field("reject", description="what a failing category asks for")
    head: str | None = Field(
        None, description="a head written by `redditbot train-moderation` (default: bundled)"
    )
    embedding_model: str | None = Field(
        None, description="local sentence-transformers directory (default: the bundled MiniLM)"
    )

    @field_validator("thresholds")
    @classmethod
    def _known_categories(cls, thresholds: dict[str, float]) -> dict[str, float]:
        for category, value in thresholds.items():
            if category not in MEANING_CATEGORIES:
                raise ValueError(
                    f"moderation.meaning.thresholds: unknown category {category!r} "
                    f"(known: {', '.join(MEANING_CATEGORIES)})"
                )
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"moderation.meaning.thresholds.{category}: {value} not in 0..1")
        return thresholds

    def threshold_for(self, category: str, head_thresholds: dict[str, float]) -> float:
        """The threshold of one category: its own setting, else `threshold`, else the head's."""
        if category in self.thresholds:
            return self.thresholds[category]
        if self.threshold is not None:
            return self.threshold
        return head_thresholds[category]


class PersonalDataSettings(_Strict):
    """Personal data the bot must never post."""

    kinds: list[Literal["email", "phone", "card", "iban", "ssn", "ip"]] = Field(
        default_factory=lambda: ["email", "phone", "card", "iban", "ssn", "ip"],
        description="which detectors run",
    )
    action: Action = Field("reject", description="what a detection asks for")
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="regions (ISO codes) whose national phone numbers are recognised; "
        "international +numbers always are",
    )

    @field_validator("phone_regions")
    @classmethod
    def _regions_known(cls, regions: list[str]) -> list[str]:
        unknown = [r for r in regions if not phone_region_known(r)]
        if unknown:
            raise ValueError(f"unknown phone region(s) {unknown} (use ISO codes such as 'US')")
        return regions


class LinkSettings(_Strict):
    """Links and pings in a reply."""

    allowed_domains: list[str] = Field(
        default_factory=lambda: ["reddit.com", "redd.it", "wikipedia.org"],
        description="domains (and their subdomains) a reply may link to",
    )
    max_links: int = Field(1, ge=0, description="most links in one reply")
    max_user_pings: int = Field(0, ge=0, description="most u/name mentions in one reply")
    max_subreddit_pings: int = Field(2, ge=0, description="most r/name mentions in one reply")
    action: Action = Field("reject", description="what a link or ping failure asks for")


class ShapeSettings(_Strict):
    """Length bounds and degenerate output."""

    min_chars: int = Field(2, ge=0, description="shortest reply, in characters after stripping")
    max_chars: int = Field(2000, ge=1, description="longest reply (Reddit allows 10000)")
    ngram_size: int = Field(3, ge=1, description="word n-gram size for the repetition check")
    max_repeated_ngram_ratio: float = Field(
        0.35, ge=0.0, le=1.0, description="share of n-grams that are repeats; above rejects"
    )
    max_repeated_line_ratio: float = Field(
        0.5, ge=0.0, le=1.0, description="share of non-empty lines that are repeats; above rejects"
    )
    min_word_ratio: float = Field(
        0.5, ge=0.0, le=1.0, description="share of tokens that look like real words; below rejects"
    )


class SimilaritySettings(_Strict):
    """Echo of the thread and repeats of the bot's own replies."""

    echo_threshold: float = Field(
        0.8, ge=0.0, le=1.0, description="similarity to the parent or an ancestor; >= rejects"
    )
    repeat_threshold: float = Field(
        0.85, ge=0.0, le=1.0, description="similarity to a recent bot reply; >= rejects"
    )
    min_words: int = Field(
        4, ge=1, description="replies shorter than this (in words) are never called echoes"
    )


class LeakSettings(_Strict):
    """Leaks of the system prompt or persona, and breaks of character."""

    min_overlap_words: int = Field(
        7, ge=3, description="a run of this many prompt words in the reply is a leak"
    )
    character_break_action: Action = Field(
        "reject", description='what an "as an AI language model" break asks for'
    )
    extra_phrases: list[str] = Field(
        default_factory=list, description="more regexes that count as breaking character"
    )


# Llama Guard 3's hazard codes, mapped to the categories the rest of moderation uses.
LLAMA_GUARD_CATEGORIES = {
    "S1": "threat",  # violent crimes
    "S2": "crime",  # non-violent crimes
    "S3": "sexual",  # sex-related crimes
    "S4": "sexual",  # child sexual exploitation
    "S5": "harassment",  # defamation
    "S6": "advice",  # specialized advice
    "S7": "personal_data",  # privacy
    "S8": "intellectual_property",
    "S9": "threat",  # indiscriminate weapons
    "S10": "identity_hate",  # hate
    "S11": "self_harm",  # suicide and self-harm
    "S12": "sexual",  # sexual content
    "S13": "elections",
    "S14": "manipulation",  # code interpreter abuse
}


class JudgeSettings(_Strict):
    """An optional judge model behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    enabled: bool = Field(False, description="ask the judge about every reply")
    base_url: str = Field(
        "http://127.0.0.1:8001/v1",
        description="the API root that /chat/completions is appended to (vLLM, llama.cpp, ...)",
    )
    model: str = Field("meta-llama/Llama-Guard-3-1B", description="model name sent to the server")
    api_key: SecretStr | None = Field(
        None,
        description="bearer token. A secret: set it in the secrets file or "
        "REDDITBOT_MODERATION__JUDGE__API_KEY, never in bot.toml",
    )
    style: Literal["llama-guard", "safety-prompt"] = Field(
        "llama-guard",
        description="llama-guard: send the parent and reply as a conversation and read "
        "'safe' / 'unsafe\\nS1,S10'; safety-prompt: any chat model, asked for a JSON verdict",
    )
    timeout_s: float = Field(
        10.0, gt=0.0, description="seconds to wait for an answer; past it, on_error applies"
    )
    categories: dict[str, str] = Field(
        default_factory=lambda: dict(LLAMA_GUARD_CATEGORIES),
        description="the judge's category codes mapped to moderation categories",
    )
    action: Action = Field("reject", description="what an 'unsafe' verdict asks for")
    on_error: Action = Field(
        "reject",
        description="what an error, timeout or unreadable answer asks for (it fails closed)",
    )

    @model_validator(mode="after")
    def _url_is_http(self) -> JudgeSettings:
        if self.enabled and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"judge.base_url must start with http:// or https://: {self.base_url}")
        return self


class ModerationSettings(_Strict):
    """Which checks run and with which thresholds (the whole ``[moderation]`` table)."""

    enabled: bool = Field(True, description="false approves every draft (testing only)")
    replace_rules: bool = Field(
        False,
        description="in a subreddit override: its rules replace the global ones instead of adding",
    )
    input: InputGateSettings = Field(default_factory=InputGateSettings)
    toxicity: ToxicitySettings = Field(default_factory=ToxicitySettings)
    meaning: MeaningSettings = Field(default_factory=MeaningSettings)
    personal_data: PersonalDataSettings = Field(default_factory=PersonalDataSettings)
    links: LinkSettings = Field(default_factory=LinkSettings)
    shape: ShapeSettings = Field(default_factory=ShapeSettings)
    similarity: SimilaritySettings = Field(default_factory=SimilaritySettings)
    leak: LeakSettings = Field(default_factory=LeakSettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    rules: list[Rule] = Field(
        default_factory=list, description="AutoModerator-like rules ([[moderation.rules]])"
    )


def merge_moderation(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge a subreddit's partial ``moderation`` table over the global one.

    Tables merge key by key; other values replace. ``rules`` is the exception: a subreddit's
    rules are added after the global ones unless the override sets ``replace_rules = true``.
    """
    merged = _deep_merge(base, override)
    if not override.get("replace_rules", False) and "rules" in override:
        merged["rules"] = [*copy.deepcopy(base.get("rules", [])), *override["rules"]]
    merged.pop("replace_rules", None)
    return merged


def settings_for_override(
    base: dict[str, Any], override: dict[str, Any] | None
) -> ModerationSettings:
    """The validated settings of one subreddit: the global dict with its override merged in."""
    return ModerationSettings.model_validate(merge_moderation(base, override or {}))


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
