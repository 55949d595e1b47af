"""Settings: bot.toml, then a secrets file, then ``REDDITBOT_<SECTION>__<KEY>`` variables.

Precedence, lowest first: defaults < bot.toml < secrets file < environment. Nothing is read at
import time; ``load_settings`` does the work and turns every mistake into a ``ConfigError`` that
names the file, line and key.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from redditbot.disclosure import DEFAULT_FOOTER, REDDIT_COMMENT_LIMIT, footer_cost
from redditbot.errors import ConfigError
from redditbot.generation.settings import ModelSettings
from redditbot.moderation.settings import ModerationSettings, settings_for_override
from redditbot.observability.settings import ObservabilitySettings
from redditbot.posting_settings import OriginalPostSettings
from redditbot.quality.settings import QualitySettings
from redditbot.web.settings import WebSettings

ENV_PREFIX = "REDDITBOT_"
SECRETS_ENV = "REDDITBOT_SECRETS_FILE"
PLACEHOLDER = re.compile(r"^(CHANGE[-_ ]?ME|YOUR[-_ ].*|<.*>|xxx+)$", re.IGNORECASE)
# Keys whose values are secrets wherever they appear ([reddit], [[accounts]], [model], overrides).
SECRET_KEYS = frozenset({"password", "client_secret", "refresh_token", "api_key", "token"})
# Sections a [[subreddits]] table may override.
OVERRIDABLE = ("model", "moderation", "selection", "housekeeping")
SUBREDDIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")


class Section(BaseModel):
    """Base of every section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class RedditSettings(Section):
    """The Reddit account and the endpoints PRAW talks to.

    Credentials: a password grant (``username`` + ``password``, script apps) or a
    ``refresh_token`` (installed and web apps; accounts with two-factor auth). ``site`` names a
    ``praw.ini`` section whose keys fill in those left empty here.
    """

    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    username: str = ""
    password: SecretStr = SecretStr("")
    refresh_token: SecretStr = SecretStr("")
    site: str = Field("", description="a praw.ini site (section) holding the credentials")
    owner: str = Field("", description="the operator's Reddit username, for the user agent")
    user_agent: str = Field("", description="empty: <platform>:redditbot:<version> (by /u/owner)")
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    short_url: str = "https://redd.it"
    ratelimit_seconds: int = Field(5, ge=0, description="PRAW waits at most this long on RATELIMIT")
    timeout: float = Field(16.0, gt=0, description="seconds per HTTP request")

    @field_validator("site")
    @classmethod
    def _site_exists(cls, site: str) -> str:
        if site:
            read_praw_site(site)  # a missing site is an error on this key, with the files read
        return site

    @model_validator(mode="after")
    def _fill_from_praw_site(self) -> RedditSettings:
        if self.site:
            for key, value in read_praw_site(self.site).items():
                if not _plain(getattr(self, key)):
                    secret = isinstance(getattr(self, key), SecretStr)
                    setattr(self, key, SecretStr(value) if secret else value)
        return self

    def agent(self) -> str:
        """The User-Agent Reddit asks for: configured, else built from version and owner."""
        return self.user_agent or default_user_agent(self.owner or self.username or "unknown")

    def uses_refresh_token(self) -> bool:
        return bool(self.refresh_token.get_secret_value())


PRAW_SITE_KEYS = (
    "client_id",
    "client_secret",
    "username",
    "password",
    "refresh_token",
    "user_agent",
)


def praw_ini_locations() -> list[Path]:
    """Where PRAW reads praw.ini, later ones winning: the user's config directory, then ./."""
    if "APPDATA" in os.environ:
        user = Path(os.environ["APPDATA"])
    elif "XDG_CONFIG_HOME" in os.environ:
        user = Path(os.environ["XDG_CONFIG_HOME"])
    else:
        user = Path.home() / ".config"
    return [user / "praw.ini", Path("praw.ini")]


def read_praw_site(site: str) -> dict[str, str]:
    """The credential keys of ``[site]`` in praw.ini (PRAW's own files, its precedence)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    locations = praw_ini_locations()
    read = parser.read(locations)
    if not parser.has_section(site):
        looked = ", ".join(str(p) for p in locations)
        raise ValueError(f"no [{site}] site in praw.ini (read: {read or 'none'}; looked: {looked})")
    return {k: v for k, v in parser.items(site) if k in PRAW_SITE_KEYS and v}


def default_user_agent(owner: str) -> str:
    """``<platform>:<app id>:<version> (by /u/<owner>)``, the unique agent Reddit asks for."""
    from redditbot import __version__

    return f"{sys.platform}:redditbot:{__version__} (by /u/{owner.removeprefix('u/')})"


def _plain(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class DatabaseSettings(Section):
    """Where the store lives."""

    url: str = "sqlite:///redditbot.db"
    echo: bool = False


class SchedulerSettings(Section):
    """How often each stage runs, in seconds."""

    listen_interval: float = Field(30.0, gt=0)
    select_interval: float = Field(10.0, gt=0)
    generate_interval: float = Field(10.0, gt=0)
    moderate_interval: float = Field(5.0, gt=0)
    post_interval: float = Field(5.0, gt=0)
    housekeeping_interval: float = Field(600.0, gt=0)
    submit_interval: float = Field(60.0, gt=0)
    chain: bool = Field(
        True,
        description="a stage that handled something wakes the next one in this process at once "
        "(listen → select → generate → moderate → post, and the post stages in turn), so the "
        "intervals bound the wait only for work from other processes; false: every stage waits "
        "for its own interval",
    )
    job_lease: float = Field(
        600.0, gt=0, description="seconds an instance holds a claimed job before others may take it"
    )
    feed_lease: float = Field(
        120.0, gt=0, description="seconds an instance holds a feed (or the selector) it polls"
    )
    clock_check_interval: float = Field(
        3600.0, gt=0, description="seconds between checks of this host's clock (and at start-up)"
    )
    max_clock_skew: float = Field(
        30.0,
        gt=0,
        description="seconds this host's clock may differ from the database's and Reddit's",
    )


class GenerationSettings(Section):
    """How the generate stage feeds the generator."""

    continuous: bool = Field(
        True,
        description="claim jobs as they come while others are generating (each its own call; "
        "with the transformers backend they join the running batch between decoding steps); "
        "false: fixed batches of [model] batch_size jobs, each generated to its end",
    )
    rows: int | None = Field(
        None,
        ge=1,
        description="continuous: most rows (jobs x candidates) in flight at once (default "
        "[model] batch_size, the decoder's own budget: claimed beyond it, a job would wait in "
        "the decoder, where a mention claimed later cannot overtake it)",
    )
    poll_interval: float = Field(
        0.5,
        gt=0,
        description="continuous: seconds between looks at the queue (while generating, and in "
        "the daemon also while idle, until the stage's next run)",
    )


class LoggingSettings(Section):
    """Log level and format."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class Triggers(Section):
    """What makes a comment or thread worth an answer (any one is enough)."""

    mentions: bool = Field(True, description="u/<bot> in a comment, from the inbox")
    replies_to_bot: bool = Field(True, description="replies to the bot's own comments and posts")
    keywords: list[str] = Field(default_factory=list, description="whole words, case-insensitive")
    regexes: list[str] = Field(default_factory=list, description="Python regexes, searched")
    questions: bool = Field(False, description="comments and posts that ask a question")
    new_posts: bool = Field(False, description="every new thread")
    reply_probability: float = Field(0.0, ge=0.0, le=1.0, description="any other comment")

    @field_validator("regexes")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"regex {pattern!r} does not compile: {exc}") from None
        return patterns


class Caps(Section):
    """Upper bounds on replies; 0 means no bound (per thread and per user: see [moderation])."""

    per_hour: int = Field(10, ge=0, description="replies per hour in this subreddit")
    per_day: int = Field(50, ge=0, description="replies per day in this subreddit")
    total_per_hour: int = Field(30, ge=0, description="replies per hour, all subreddits")
    total_per_day: int = Field(200, ge=0, description="replies per day, all subreddits")


class SelectionSettings(Section):
    """Which stored comments and threads become reply jobs."""

    triggers: Triggers = Field(default_factory=Triggers)
    caps: Caps = Field(default_factory=Caps)
    max_age_hours: float = Field(24.0, gt=0, description="ignore items older than this")
    min_score: int | None = Field(None, description="ignore items scored below this")
    quiet_hours: str = Field("", description='"HH:MM-HH:MM" UTC during which nothing is queued')
    batch: int = Field(500, gt=0, description="items considered per run")
    seed: int | None = Field(None, description="seed for reply_probability (tests, demos)")

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        if value and not re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", value.strip()):
            raise ValueError('use "HH:MM-HH:MM", e.g. "23:00-07:00"')
        return value.strip()


class HousekeepingSettings(Section):
    """Periodic chores, each switchable per subreddit."""

    delete_below_score: int | None = Field(
        None, description="delete the bot's replies scored below this (unset: never)"
    )
    delete_window_hours: float = Field(
        24.0, gt=0, description="only replies younger than this are checked for deletion"
    )
    retention_days: float = Field(
        0.0, ge=0, description="prune stored items older than this (0: keep everything)"
    )
    purge_requests: int = Field(
        10,
        ge=0,
        description="/api/info requests per run (100 items each) asking Reddit which stored "
        "items were deleted or removed, to purge their text (0: off; global setting only)",
    )
    purge_recheck_hours: float = Field(
        24.0, gt=0, description="an item checked is asked about again after this (global only)"
    )


class SubredditSettings(Section):
    """One ``[[subreddits]]`` table: a name plus overrides of the global settings."""

    name: str
    dry_run: bool | None = None
    review: bool = False
    persona: str = ""
    disclose: bool | None = Field(None, description="say that a bot wrote it (unset: global)")
    footer: str = Field("", description="the disclosure footer here (empty: the global footer)")
    training_allowed: bool = Field(
        False, description="the subreddit's moderators (or Reddit) allow training on its content"
    )
    model: dict[str, Any] = Field(default_factory=dict)
    moderation: dict[str, Any] = Field(default_factory=dict)
    selection: dict[str, Any] = Field(default_factory=dict)
    housekeeping: dict[str, Any] = Field(default_factory=dict)
    posting: OriginalPostSettings = Field(default_factory=OriginalPostSettings)

    @field_validator("model", mode="before")
    @classmethod
    def _model_name_shorthand(cls, value: Any) -> Any:
        """``model = "path"`` is short for ``model = { name = "path" }``."""
        return {"name": value} if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, name: str) -> str:
        name = name.removeprefix("r/")
        if not SUBREDDIT_NAME.match(name):
            raise ValueError(f"not a subreddit name: {name!r}")
        return name


class AccountSettings(Section):
    """One ``[[accounts]]`` table: a bot account with its own credentials, subreddits, persona."""

    name: str = Field(description="the account's label in the store (its rows carry it)")
    reddit: dict[str, Any] = Field(
        default_factory=dict, description="overrides of [reddit]: username, password, client_id, …"
    )
    subreddits: list[str] = Field(
        default_factory=list, description="names of [[subreddits]] tables this account works in"
    )
    persona: str = Field("", description="persona for its subreddits that set none themselves")
    model: dict[str, Any] = Field(default_factory=dict, description="overrides of [model]")


class Settings(BaseSettings):
    """The bot's whole configuration, validated."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        nested_model_default_partial_update=True,
    )

    dry_run: bool = False
    disclose: bool = Field(True, description="every reply and post says that a bot wrote it")
    footer: str = Field(DEFAULT_FOOTER, description="the disclosure footer (Reddit markdown)")
    account: str = Field(
        "", description="name recorded on the rows this bot owns (default: username)"
    )
    reddit: RedditSettings = Field(default_factory=RedditSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    selection: SelectionSettings = Field(default_factory=SelectionSettings)
    housekeeping: HousekeepingSettings = Field(default_factory=HousekeepingSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    subreddits: list[SubredditSettings] = Field(default_factory=list)
    accounts: list[AccountSettings] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init kwargs; the environment must win over them.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _accounts_are_consistent(self) -> Settings:
        names = [a.name.lower() for a in self.accounts]
        if len(set(names)) != len(names):
            raise ValueError("two [[accounts]] tables have the same name")
        known = {s.name.lower() for s in self.subreddits}
        for account in self.accounts:
            unknown = [n for n in account.subreddits if n.removeprefix("r/").lower() not in known]
            if unknown:
                raise ValueError(
                    f"account {account.name!r} names subreddits without a [[subreddits]] table: "
                    f"{unknown}"
                )
            RedditSettings.model_validate(deep_merge(self.reddit.model_dump(), account.reddit))
        return self

    @model_validator(mode="after")
    def _filter_stays_on_when_live(self) -> Settings:
        if not self.moderation.enabled and not self.dry_run:
            raise ValueError("moderation.enabled = false is only allowed with dry_run = true")
        return self

    @model_validator(mode="after")
    def _disclosure_has_text(self) -> Settings:
        if self.disclose and not self.footer.strip():
            raise ValueError('footer = "" with disclose = true: say that the account is a bot')
        return self

    @property
    def account_name(self) -> str:
        """The account the bot's rows belong to."""
        return self.account or self.reddit.username or "default"

    def account_names(self) -> list[str]:
        """The accounts this configuration runs: the [[accounts]] tables, or the one [reddit]."""
        return [a.name for a in self.accounts] or [self.account_name]

    def for_account(self, name: str) -> Settings:
        """The settings one account's bot runs with: its credentials, subreddits and model."""
        if not self.accounts:
            return self
        account = next(a for a in self.accounts if a.name == name)
        wanted = {n.removeprefix("r/").lower() for n in account.subreddits}
        subreddits = [
            sub.model_copy(update={"persona": sub.persona or account.persona})
            for sub in self.subreddits
            if sub.name.lower() in wanted
        ]
        reddit = RedditSettings.model_validate(deep_merge(self.reddit.model_dump(), account.reddit))
        model = _merged(self.model, account.model)
        update = {
            "account": account.name,
            "reddit": reddit,
            "model": model,
            "subreddits": subreddits,
            "accounts": [],
        }
        return self.model_copy(update=update)

    def subreddit(self, name: str) -> SubredditSettings | None:
        """The ``[[subreddits]]`` table for ``name`` (case-insensitive), if any."""
        wanted = name.lower()
        return next((s for s in self.subreddits if s.name.lower() == wanted), None)

    def moderation_for(self, subreddit: str) -> ModerationSettings:
        """Global ``[moderation]`` with the subreddit's overrides (its rules add up, by default)."""
        overrides = self._overrides(subreddit, "moderation")
        if not overrides:
            return self.moderation
        return settings_for_override(self.moderation.model_dump(), overrides)

    def model_for(self, subreddit: str) -> ModelSettings:
        """Global ``[model]`` with the subreddit's overrides merged in."""
        return _merged(self.model, self._overrides(subreddit, "model"))

    def selection_for(self, subreddit: str) -> SelectionSettings:
        """Global ``[selection]`` with the subreddit's overrides merged in."""
        return _merged(self.selection, self._overrides(subreddit, "selection"))

    def housekeeping_for(self, subreddit: str) -> HousekeepingSettings:
        """Global ``[housekeeping]`` with the subreddit's overrides merged in."""
        return _merged(self.housekeeping, self._overrides(subreddit, "housekeeping"))

    def persona_for(self, subreddit: str) -> str:
        """The subreddit's persona, else the model's default one."""
        sub = self.subreddit(subreddit)
        return sub.persona if sub and sub.persona else self.model_for(subreddit).persona

    def footer_for(self, subreddit: str) -> str:
        """The disclosure footer appended to what the bot posts in ``subreddit`` ("" when off)."""
        sub = self.subreddit(subreddit)
        disclose = self.disclose if sub is None or sub.disclose is None else sub.disclose
        if not disclose:
            return ""
        return ((sub.footer if sub else "") or self.footer).strip()

    def disclosure_warnings(self) -> list[str]:
        """Where the bot would post without saying it is a bot (``disclose = false``)."""
        where = [f"r/{s.name}" for s in self.subreddits if not self.footer_for(s.name)]
        if not self.disclose and not self.subreddits:
            where.append("every subreddit")
        return [
            f"disclose = false: replies and posts in {name} will not say that a bot wrote them "
            "(Reddit requires bots to disclose; this can cost API access)"
            for name in where
        ]

    def dry_run_for(self, subreddit: str) -> bool:
        """Dry run is on if it is on globally or for this subreddit."""
        sub = self.subreddit(subreddit)
        return self.dry_run or bool(sub and sub.dry_run)

    def _overrides(self, subreddit: str, section: str) -> dict[str, Any]:
        sub = self.subreddit(subreddit)
        return getattr(sub, section) if sub else {}

    def placeholders(self) -> list[str]:
        """Key paths that still hold a placeholder value from bot.toml.example."""
        reddit = self.reddit
        values = {
            "reddit.client_id": reddit.client_id,
            "reddit.client_secret": reddit.client_secret.get_secret_value(),
            "reddit.username": reddit.username,
            "reddit.password": reddit.password.get_secret_value(),
            "reddit.refresh_token": reddit.refresh_token.get_secret_value(),
            "reddit.owner": reddit.owner,
            "reddit.user_agent": reddit.user_agent,
        }
        return [key for key, value in values.items() if PLACEHOLDER.match(value.strip())]

    def require_reddit_credentials(self) -> None:
        """Refuse to start against Reddit with empty or placeholder credentials."""
        reddit = self.reddit
        missing = [k for k in ("client_id", "username") if not getattr(reddit, k)]
        if not reddit.uses_refresh_token():  # installed apps have no secret; 2FA needs a token
            missing += [k for k in ("client_secret", "password") if not _secret(reddit, k)]
        problems = [f"reddit.{k} is empty" for k in missing]
        problems += [f"{key} still holds the example's placeholder" for key in self.placeholders()]
        if problems:
            raise ConfigError(
                "; ".join(problems) + " (set it in bot.toml, the secrets file, env or the praw.ini "
                "site; reddit.refresh_token replaces the password)"
            )


def _secret(section: BaseModel, key: str) -> str:
    return getattr(section, key).get_secret_value()


def _merged(base: BaseModel, overrides: dict[str, Any]) -> Any:
    if not overrides:
        return base
    return type(base).model_validate(deep_merge(base.model_dump(), overrides))


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``overrides`` merged in: tables recursively, values replaced."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def merge_named(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Like ``deep_merge``, but arrays of tables with a ``name`` are merged table by table.

    So a secrets file can say ``[[accounts]] name = "helper"`` / ``[accounts.reddit] password``
    without repeating everything else about that account.
    """
    merged = dict(base)
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = merge_named(current, value)
        elif _named_tables(value) and _named_tables(current):
            by_name = {item["name"]: item for item in current}
            for item in value:
                by_name[item["name"]] = merge_named(by_name.get(item["name"], {}), item)
            merged[key] = list(by_name.values())
        else:
            merged[key] = value
    return merged


def _named_tables(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


# --------------------------------------------------------------------------- loading


def load_settings(path: Path | None = None, *, secrets_path: str | Path | None = None) -> Settings:
    """Read and validate the configuration; raise ConfigError naming file, line and key."""
    data = read_toml(path) if path else {}
    secrets = secrets_path or os.environ.get(SECRETS_ENV)
    if secrets:
        data = merge_named(data, read_toml(Path(secrets)))
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, path)) from None
    for sub in settings.subreddits:
        _validate_overrides(settings, sub, path)
    _check_reply_fits(settings, path)
    return settings


def _check_reply_fits(settings: Settings, path: Path | None) -> None:
    """The longest reply moderation lets through, plus the footer, must fit in one comment."""
    names = [None] + [s.name for s in settings.subreddits]
    for name in names:
        moderation = settings.moderation_for(name) if name else settings.moderation
        footer = settings.footer_for(name or "")  # "": a subreddit without a table
        longest = moderation.shape.max_chars + footer_cost(footer)
        if longest > REDDIT_COMMENT_LIMIT:
            where = f"r/{name}" if name else "the global settings"
            raise ConfigError(
                f"{path or 'configuration'}: {where}: moderation.shape.max_chars "
                f"({moderation.shape.max_chars}) + the disclosure footer ({footer_cost(footer)} "
                f"characters) exceed Reddit's {REDDIT_COMMENT_LIMIT}-character comment limit"
            )


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}:{_toml_error_text(exc)}") from None


def _toml_error_text(exc: tomllib.TOMLDecodeError) -> str:
    """``LINE:COL: TOML syntax error: why`` (Python < 3.14 keeps the position in the message)."""
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)", message)
    if not found:
        return f"0:0: TOML syntax error: {message}"
    why = message[: found.start()] + message[found.end() :]
    return f"{found[1]}:{found[2]}: TOML syntax error: {why}"


def _validate_overrides(settings: Settings, sub: SubredditSettings, path: Path | None) -> None:
    index = settings.subreddits.index(sub)
    for section in OVERRIDABLE:
        try:
            getattr(settings, f"{section}_for")(sub.name)
        except ValidationError as exc:
            prefix = ("subreddits", index, section)
            raise ConfigError(describe_validation_error(exc, path, prefix)) from None


def describe_validation_error(
    exc: ValidationError, path: Path | None, prefix: tuple[Any, ...] = ()
) -> str:
    """One line per problem: where (file:line, or the env variable), key path, bad value, why."""
    lines = [_describe_one(err, path, prefix + tuple(err["loc"])) for err in exc.errors()]
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _describe_one(err: dict[str, Any], path: Path | None, loc: tuple[Any, ...]) -> str:
    key = _key_path(loc)
    where = _env_source(loc) or _locate(path, loc) or "configuration"
    value = "<secret>" if _is_secret_path(loc) else repr(err.get("input"))
    if err["type"] in ("missing", "extra_forbidden"):
        value = ""
    detail = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    shown = f" = {value}" if value else ""
    return f"{where}: {key}{shown}: {detail}"


def _is_secret_path(loc: tuple[Any, ...]) -> bool:
    return bool(loc) and str(loc[-1]) in SECRET_KEYS


def _key_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def _env_source(loc: tuple[Any, ...]) -> str | None:
    """``environment (REDDITBOT_…)`` when the bad value came from an environment variable."""
    name = ENV_PREFIX + "__".join(str(p).upper() for p in loc if not isinstance(p, int))
    return f"environment ({name})" if name in os.environ else None


def _locate(path: Path | None, loc: tuple[Any, ...]) -> str | None:
    """Best-effort ``file:line`` of the key at ``loc`` in the TOML file."""
    if not path or not path.exists():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    line = _find_line(lines, [p for p in loc])
    return f"{path}:{line}" if line else str(path)


def _find_line(lines: list[str], loc: list[Any]) -> int | None:
    """Walk the key path through table headers and assignments; 1-based line or None."""
    start, found = 0, None
    for index, part in enumerate(loc):
        if index + 1 < len(loc) and isinstance(loc[index + 1], int):
            continue  # an array of tables: the next (integer) part picks the header
        hit = (
            _find_array_item(lines, str(loc[index - 1]), part)
            if isinstance(part, int)
            else _find_key(lines, start, str(part))
        )
        if hit is None:
            break
        start, found = hit, hit + 1
    return found


def _find_array_item(lines: list[str], table: str, item: int) -> int | None:
    header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
    hits = [i for i, text in enumerate(lines) if header.match(text)]
    return hits[item] if item < len(hits) else None


def _find_key(lines: list[str], start: int, key: str) -> int | None:
    header = re.compile(rf"^\s*\[\s*([\w.]+\.)?{re.escape(key)}\s*\]")
    assignment = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for i in range(start, len(lines)):
        if header.match(lines[i]) or assignment.match(lines[i]):
            return i
    return None
