"""deploy/redditbot.service: parsed here, then checked by systemd-analyze where it is installed."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from redditbot.cli.daemon import run_daemon
from tests.deploy.conftest import (
    DEPLOY,
    parse_redditbot_command,
    settings_from_environment,
    settings_variables,
)

UNIT = DEPLOY / "redditbot.service"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectControlGroups": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
}
MAX_EXPOSURE = 2.0  # systemd-analyze security: 0 (locked down) .. 10 (unprotected)


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values]}} (keys may repeat; continuation lines joined)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"not a unit file line: {line!r}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def environment(service: dict[str, list[str]]) -> dict[str, str]:
    pairs = [p for value in service.get("Environment", []) for p in shlex.split(value)]
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text())


def one(section: dict[str, list[str]], key: str) -> str:
    values = section[key]
    assert len(values) == 1, f"{key} set {len(values)} times"
    return values[0]


def test_notify_type_with_watchdog_and_restart_limits(unit) -> None:
    service = unit["Service"]
    assert one(service, "Type") == "notify"
    assert one(service, "Restart") == "on-failure"
    assert int(one(service, "WatchdogSec")) >= 30
    assert int(one(unit["Unit"], "StartLimitBurst")) == 5
    assert int(one(unit["Unit"], "StartLimitIntervalSec")) == 600
    assert one(unit["Install"], "WantedBy") == "multi-user.target"


def test_a_configuration_error_is_not_restarted(unit) -> None:
    """The CLI's EX_CONFIG stops the restarts; EX_UNAVAILABLE (a passing outage) does not."""
    from redditbot.errors import EXIT_CONFIG, EXIT_TEMPFAIL, EXIT_UNAVAILABLE

    prevented = {int(code) for code in one(unit["Service"], "RestartPreventExitStatus").split()}
    assert EXIT_CONFIG in prevented and EXIT_UNAVAILABLE not in prevented
    assert EXIT_TEMPFAIL not in prevented  # the other daemon may stop: try again


def test_exec_start_is_a_real_run_command_with_grace_below_stop_timeout(unit) -> None:
    argv = shlex.split(one(unit["Service"], "ExecStart"))
    assert argv[0].endswith("/bin/redditbot")
    args = parse_redditbot_command(argv[1:])
    assert args.handler is run_daemon
    assert args.config == "/etc/redditbot/bot.toml"
    stop_timeout = int(one(unit["Service"], "TimeoutStopSec"))
    assert args.grace < stop_timeout - 10, "SIGKILL must not cut the drain short"


def test_hardening_options(unit) -> None:
    service = unit["Service"]
    for key, value in HARDENING.items():
        assert one(service, key) == value, key
    assert one(service, "User") == "redditbot"
    assert "~@privileged" in service["SystemCallFilter"]


def test_state_directory_holds_the_sqlite_file(unit) -> None:
    service = unit["Service"]
    assert one(service, "StateDirectory") == "redditbot"
    env = environment(service)
    assert env["REDDITBOT_DATABASE__URL"] == "sqlite:////var/lib/redditbot/redditbot.db"
    assert one(service, "WorkingDirectory") == "/var/lib/redditbot"


def test_secrets_arrive_as_a_credential(unit) -> None:
    service = unit["Service"]
    name, _, source = one(service, "LoadCredential").partition(":")
    assert source == "/etc/redditbot/secrets.toml"
    assert environment(service)["REDDITBOT_SECRETS_FILE"] == f"%d/{name}"


def test_environment_names_are_real_settings(unit, monkeypatch) -> None:
    env = environment(unit["Service"])
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
    settings = settings_from_environment(settings_variables(env), monkeypatch)
    assert settings.database.url == "sqlite:////var/lib/redditbot/redditbot.db"
    assert str(settings.model.cache_dir) == "/var/cache/redditbot/models"


def test_sysusers_creates_the_service_user() -> None:
    entry = (DEPLOY / "systemd" / "redditbot.sysusers").read_text().splitlines()[-1].split()
    assert entry[:2] == ["u", "redditbot"]


def _analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd); parsed only")
    return tool


def _unit_with_runnable_exec(tmp_path: Path) -> Path:
    """verify insists the ExecStart binary exists: point it at one that does."""
    text = UNIT.read_text().replace("/opt/redditbot/.venv/bin/redditbot", shutil.which("true"))
    copy = tmp_path / "redditbot.service"
    copy.write_text(text)
    return copy


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    tool = _analyze()
    result = subprocess.run(
        [tool, "verify", str(_unit_with_runnable_exec(tmp_path))],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings: any output at all is a failure here.
    assert result.stderr.strip() == "" and result.stdout.strip() == "", result.stderr


def test_systemd_analyze_security_exposure_is_low(tmp_path: Path) -> None:
    tool = _analyze()
    result = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(_unit_with_runnable_exec(tmp_path))],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout + result.stderr)
    assert found, result.stdout + result.stderr
    assert float(found[1]) <= MAX_EXPOSURE
