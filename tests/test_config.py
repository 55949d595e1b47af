"""Configuration: TOML < secrets file < environment, and every error names file, line and key."""

from __future__ import annotations

import io
import json
import re
import tomllib
from pathlib import Path

import pytest

from redditbot import cli
from redditbot.config import Settings, load_settings
from redditbot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "bot.toml.example"

VALID = """\
dry_run = false

[reddit]
client_id = "abc123"
client_secret = "s3cret-client"
username = "helpful_bot"
password = "hunter2-password"
user_agent = "linux:helpful_bot:0.1 (by /u/owner)"

[database]
url = "sqlite:///bot.db"

[[subreddits]]
name = "python"

[[subreddits]]
name = "cooking"
dry_run = true
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("REDDITBOT_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "bot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli.main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_valid_file_is_loaded(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))
    assert settings.reddit.username == "helpful_bot"
    assert settings.reddit.password.get_secret_value() == "hunter2-password"
    assert [s.name for s in settings.subreddits] == ["python", "cooking"]
    assert settings.account_name == "helpful_bot"
    assert settings.dry_run_for("cooking") and not settings.dry_run_for("python")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REDDITBOT_DATABASE__URL", "postgresql+psycopg://db/bot")
    monkeypatch.setenv("REDDITBOT_REDDIT__PASSWORD", "from-env")
    monkeypatch.setenv("REDDITBOT_DRY_RUN", "true")
    settings = load_settings(write(tmp_path, VALID))
    assert settings.database.url == "postgresql+psycopg://db/bot"
    assert settings.reddit.password.get_secret_value() == "from-env"
    assert settings.reddit.username == "helpful_bot"  # untouched keys keep the file's value
    assert settings.dry_run is True


def test_secrets_file_overrides_the_file_and_env_overrides_it(tmp_path, monkeypatch) -> None:
    config = write(tmp_path, VALID.replace('password = "hunter2-password"\n', ""))
    secrets = write(tmp_path, '[reddit]\npassword = "from-secrets"\n', "secrets.toml")
    assert load_settings(config, secrets_path=secrets).reddit.password.get_secret_value() == (
        "from-secrets"
    )
    monkeypatch.setenv("REDDITBOT_SECRETS_FILE", str(secrets))
    assert load_settings(config).reddit.password.get_secret_value() == "from-secrets"
    monkeypatch.setenv("REDDITBOT_REDDIT__PASSWORD", "from-env")
    assert load_settings(config).reddit.password.get_secret_value() == "from-env"


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('username = "helpful_bot"', 'username = "helpful_bot'))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert re.match(rf"{re.escape(str(path))}:6:\d+: TOML syntax error", str(caught.value))


def test_validation_error_names_key_path_value_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "\n[scheduler]\nlisten_interval = -5\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert f"{path}:21: scheduler.listen_interval = -5: Input should be greater than 0" in message


def test_error_inside_an_array_of_tables_points_at_that_table(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('name = "cooking"', 'name = "not a/sub"'))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert f"{path}:17: subreddits[1].name = 'not a/sub'" in str(caught.value)


def test_unknown_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("[database]\n", "[database]\nulr = 'typo'\n"))
    with pytest.raises(ConfigError, match=r"bot.toml:11: database.ulr: unknown key"):
        load_settings(path)


def test_bad_value_from_environment_names_the_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REDDITBOT_REDDIT__TIMEOUT", "soon")
    with pytest.raises(ConfigError, match=r"REDDITBOT_REDDIT__TIMEOUT\).*reddit.timeout = 'soon'"):
        load_settings(write(tmp_path, VALID))


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('password = "hunter2-password"', "password = 12345"))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "12345" not in str(caught.value) and "<secret>" in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "nope.toml")


def test_placeholders_from_the_example_are_refused(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE)
    assert settings.placeholders() == [
        "reddit.client_id",
        "reddit.client_secret",
        "reddit.username",
        "reddit.password",
    ]
    with pytest.raises(ConfigError, match="reddit.password still holds the example's placeholder"):
        settings.require_reddit_credentials()
    load_settings(write(tmp_path, VALID)).require_reddit_credentials()


def _documented(text: str, parsed: dict, key: str) -> bool:
    """A key is documented when it is set, or shown commented out (``# key = …``)."""
    return key in parsed or re.search(rf"^#\s*{re.escape(key)}\s*=", text, re.MULTILINE) is not None


def test_example_documents_every_key() -> None:
    """Each key of Settings and of its sections appears in bot.toml.example, with a comment."""
    text = EXAMPLE.read_text()
    example = tomllib.loads(text)
    for name, field in Settings.model_fields.items():
        if f"# [[{name}]]" in text:  # an optional array of tables, shown commented out
            continue
        assert name in example, f"bot.toml.example lacks {name}"
        section = field.annotation
        if hasattr(section, "model_fields") and isinstance(example[name], dict):
            missing = [k for k in section.model_fields if not _documented(text, example[name], k)]
            assert not missing, f"bot.toml.example [{name}] lacks {sorted(missing)}"
    sub_keys = set(example["subreddits"][0])
    from redditbot.config import SubredditSettings

    assert set(SubredditSettings.model_fields) <= sub_keys


def test_subreddit_overrides_are_merged_and_validated(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID.replace('name = "python"', 'name = "python"\nmoderation = { no_such_check = 1 }'),
    )
    with pytest.raises(ConfigError, match=r"subreddits\[0\]\.moderation\.no_such_check"):
        load_settings(path)


def test_config_check_masks_secrets(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID.replace(
            'url = "sqlite:///bot.db"', 'url = "postgresql+psycopg://bot:dbpass99@db/bot"'
        ),
    )
    code, out, err = run_cli("--config", str(path), "config", "check")
    assert code == 0, err
    for secret in ("hunter2-password", "s3cret-client", "dbpass99"):
        assert secret not in out
    shown = json.loads(out)  # stdout is the document and nothing else
    assert "configuration OK" in err
    assert json.loads(run_cli("--config", str(path), "config", "check", "--json")[1]) == shown
    assert shown["reddit"]["username"] == "helpful_bot"
    assert shown["reddit"]["password"] == "********"
    assert shown["database"]["url"] == "postgresql+psycopg://bot:***@db/bot"


def test_config_check_rejects_a_broken_file_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[reddit\nclient_id = 1\n")
    code, out, err = run_cli("--config", str(path), "config", "check")
    assert code == 78
    assert f"{path}:1:" in err and "Traceback" not in err


def test_config_check_refuses_placeholders_unless_offline() -> None:
    code, _, err = run_cli("--config", str(EXAMPLE), "config", "check")
    assert code == 78 and "placeholder" in err
    code, _, _ = run_cli("--config", str(EXAMPLE), "config", "check", "--offline")
    assert code == 0


ACCOUNTS = (
    VALID
    + """
[[accounts]]
name = "helper"
subreddits = ["python"]
persona = "You help."
[accounts.reddit]
username = "helper_bot"

[[accounts]]
name = "chef"
subreddits = ["cooking"]
model = { temperature = 0.2 }
[accounts.reddit]
username = "chef_bot"
"""
)


def test_accounts_get_their_own_credentials_subreddits_and_model(tmp_path: Path) -> None:
    chef_secret = '[[accounts]]\nname = "chef"\n[accounts.reddit]\npassword = "chef-pw"\n'
    secrets = write(tmp_path, chef_secret, "secrets.toml")
    settings = load_settings(write(tmp_path, ACCOUNTS), secrets_path=secrets)
    assert settings.account_names() == ["helper", "chef"]
    helper, chef = settings.for_account("helper"), settings.for_account("chef")
    assert (helper.account_name, helper.reddit.username) == ("helper", "helper_bot")
    assert [s.name for s in helper.subreddits] == ["python"]
    assert helper.subreddits[0].persona == "You help."
    assert helper.reddit.password.get_secret_value() == "hunter2-password"  # the shared [reddit]
    assert chef.reddit.password.get_secret_value() == "chef-pw"  # from the secrets file, by name
    assert chef.model.temperature == 0.2 and helper.model.temperature != 0.2
    assert [a.name for a in settings.accounts] == ["helper", "chef"]  # the merge kept both


def test_an_account_naming_an_unknown_subreddit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, ACCOUNTS.replace('subreddits = ["python"]', 'subreddits = ["nope"]'))
    with pytest.raises(ConfigError, match="account 'helper' names subreddits without"):
        load_settings(path)


def test_a_subreddit_model_can_be_just_a_path(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('name = "python"', 'name = "python"\nmodel = "models/py"'))
    settings = load_settings(path)
    assert settings.model_for("python").name == "models/py"
    assert settings.model_for("cooking").name == settings.model.name
