"""The ``[web]`` section of the settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from redditbot.errors import ConfigError

MIN_PASSWORD_CHARS = 16


class WebSettings(BaseModel):
    """The review and history pages: off unless enabled, on localhost unless told otherwise.

    The password (a long random token) belongs in the secrets file or ``REDDITBOT_WEB__PASSWORD``;
    it is never logged. ``secure_cookies`` marks the login cookie HTTPS-only (behind TLS).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8080, ge=0, le=65535)
    password: SecretStr = Field(SecretStr(""), validate_default=True)
    secure_cookies: bool = False
    session_hours: float = Field(12.0, gt=0, description="a login lasts this long")
    # Proxies whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips).
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])

    @field_validator("password")
    @classmethod
    def _password_when_enabled(cls, password: SecretStr, info: ValidationInfo) -> SecretStr:
        # A field validator, so that an error is reported at web.password, which is masked.
        if info.data.get("enabled"):
            check_password(password)
        return password

    def require_password(self) -> None:
        """Refuse to serve without a password: raises ConfigError saying where to put one."""
        try:
            check_password(self.password)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


def check_password(password: SecretStr) -> None:
    """A ValueError unless the password has at least ``MIN_PASSWORD_CHARS`` characters."""
    value = password.get_secret_value()
    if len(value) < MIN_PASSWORD_CHARS:
        state = "is empty" if not value else f"is shorter than {MIN_PASSWORD_CHARS} characters"
        raise ValueError(
            f"web.password {state}: put a long random token in the secrets file "
            "([web] password) or REDDITBOT_WEB__PASSWORD"
        )
