"""One error tree for the whole bot.

``ConfigError`` is the operator's mistake (fix the file, then start again), ``TransientError``
means "try again later" and ``PermanentError`` means "give up on this item". The CLI turns any
``RedditbotError`` into a one-line message and the error's ``exit_code`` (sysexits.h meanings,
listed in ``redditbot --help``), never a traceback.
"""

# Exit codes by meaning; sysexits.h where it has one, so that supervisors can tell them apart
# (systemd's RestartPreventExitStatus=78: a wrong configuration is not fixed by restarting).
EXIT_OK = 0
EXIT_FAILURE = 1  # a check failed, or the command could not do what was asked
EXIT_USAGE = 2  # argparse's own code for an unknown command or option
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: Reddit or the database cannot be reached; retry later
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL: another daemon holds the SQLite file; start once it has stopped
EXIT_CONFIG = 78  # EX_CONFIG: bot.toml, secrets, credentials, model or schema need fixing first
EXIT_INTERRUPTED = 130  # 128 + SIGINT


class RedditbotError(Exception):
    """Base of every error the bot raises on purpose."""

    exit_code = EXIT_FAILURE


class ConfigError(RedditbotError):
    """The configuration is missing, malformed or invalid."""

    exit_code = EXIT_CONFIG


class StoreError(RedditbotError):
    """A database operation was refused or failed (see the two kinds below)."""


class InstanceLocked(StoreError):
    """Another daemon already runs on this SQLite file (it holds the instance lock)."""

    exit_code = EXIT_TEMPFAIL


class StoreUnavailable(StoreError):
    """The database cannot be reached (down, wrong host, unreadable file)."""

    exit_code = EXIT_UNAVAILABLE


class SchemaError(StoreError):
    """The database's schema is not what this version expects: run ``redditbot db upgrade``."""

    exit_code = EXIT_CONFIG


class TransientError(RedditbotError):
    """A failure that may succeed later (network, rate limit, server error)."""

    exit_code = EXIT_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DryRunViolation(RedditbotError):
    """A bug: something asked to change Reddit (comment, vote, read_message, delete, …) while
    the bot runs with ``dry_run = true``. Refused before the request leaves the process."""


class PermanentError(RedditbotError):
    """A failure that will not succeed on retry; ``reason`` is machine-readable."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ModelNotFoundError(ConfigError):
    """The configured model is not on disk; the message says how to get it."""


class RateLimited(TransientError):
    """Reddit said RATELIMIT (or 429): wait ``retry_after`` seconds, then try again."""


class WriteOutcomeUnknown(TransientError):
    """A write request may or may not have taken effect (5xx, dropped connection, lost reply).

    Never retried blindly: the poster reconciles with Reddit before it sends again.
    """


class TargetUnavailable(PermanentError):
    """Reddit refused a reply for good: THREAD_LOCKED, DELETED_COMMENT, TOO_OLD, forbidden, …"""


class PartialGenerationError(RedditbotError):
    """Some requests of a batch were generated and some failed.

    ``generations`` holds the replies that were made (not to be thrown away with the failures),
    ``failures`` each failed request's key and error.
    """

    def __init__(self, generations: list, failures: dict[str, Exception]) -> None:
        keys = ", ".join(sorted(failures))
        first = next(iter(failures.values()))
        super().__init__(
            f"{len(failures)} of {len(generations) + len(failures)} generations "
            f"failed ({keys}); first: {first}"
        )
        self.generations = generations
        self.failures = failures
