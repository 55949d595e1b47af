"""deploy/compose.yaml: PostgreSQL, one daemon, N workers, optional vLLM; checked without Docker."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from redditbot.app import STAGE_ORDER, expand_stages
from redditbot.cli.daemon import run_daemon
from tests.deploy.conftest import (
    DEPLOY,
    REPO,
    parse_redditbot_command,
    settings_from_environment,
    settings_variables,
)
from tests.promise import unavailable

COMPOSE = DEPLOY / "compose.yaml"
BOT_SERVICES = ("migrate", "daemon", "worker")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?])?([^}]*)\}")


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, from ``given`` or the default."""

    def one(match: re.Match) -> str:
        name, default = match[1], match[2]
        return given.get(name, "" if match[0].startswith(f"${{{name}:?") else default)

    return INTERPOLATION.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def stages_of(service: dict) -> list[str]:
    command = service["command"]
    return command[command.index("--stages") + 1].split(",")


def test_services_and_their_order(compose) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "daemon", "worker", "vllm"}
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("daemon", "worker"):
        wanted = {"migrate": {"condition": "service_completed_successfully"}}
        assert services[name]["depends_on"] == wanted
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_one_daemon_listens_and_n_workers_generate(compose) -> None:
    daemon, worker = compose["services"]["daemon"], compose["services"]["worker"]
    assert "listen" in stages_of(daemon) and "select" in stages_of(daemon)
    assert stages_of(worker) == ["generate", "moderate", "submit"]  # the ones that need a model
    # Together they run every stage exactly once (``submit``: the four stages of posts).
    placed = expand_stages(stages_of(daemon)) + expand_stages(stages_of(worker))
    assert sorted(placed) == sorted(STAGE_ORDER)
    assert interpolate(str(worker["deploy"]["replicas"]), {}) == "2"
    assert "replicas" not in daemon.get("deploy", {})


def test_bot_commands_parse_with_the_real_cli(compose) -> None:
    for name in BOT_SERVICES:
        args = parse_redditbot_command(compose["services"][name]["command"])
        if name != "migrate":
            assert args.handler is run_daemon
            assert args.stages == ",".join(stages_of(compose["services"][name]))


def test_stop_grace_outlasts_the_drain(compose) -> None:
    for name in ("daemon", "worker"):
        service = compose["services"][name]
        grace = float(service["command"][service["command"].index("--grace") + 1])
        assert int(service["stop_grace_period"].rstrip("s")) > grace + 10


def test_bot_services_share_config_secrets_and_hardening(compose) -> None:
    for name in BOT_SERVICES:
        service = compose["services"][name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["configs"] == [{"source": "bot_toml", "target": "/etc/redditbot/bot.toml"}]
        secret = service["secrets"][0]["target"]
        assert service["environment"]["REDDITBOT_SECRETS_FILE"] == f"/run/secrets/{secret}"
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert (REPO / compose["services"]["daemon"]["build"]["dockerfile"]).is_file()


def test_environment_names_are_real_settings(compose, monkeypatch) -> None:
    given = {"POSTGRES_PASSWORD": "pw", "REDDITBOT_GENERATION_BACKEND": "openai"}
    env = {
        k: interpolate(str(v), given)
        for k, v in compose["services"]["worker"]["environment"].items()
    }
    settings = settings_from_environment(settings_variables(env), monkeypatch)
    assert settings.database.url == "postgresql+psycopg://redditbot:pw@postgres:5432/redditbot"
    assert settings.model.backend == "openai"
    assert settings.observability.host == "0.0.0.0"


def test_vllm_is_optional_and_matches_the_openai_settings(compose) -> None:
    vllm, worker = compose["services"]["vllm"], compose["services"]["worker"]
    assert vllm["profiles"] == ["vllm"]
    options = dict(arg.removeprefix("--").split("=", 1) for arg in vllm["command"])
    base_url = worker["environment"]["REDDITBOT_MODEL__BASE_URL"]
    assert base_url == "http://vllm:8000/v1"
    # The bot asks for [model] name, "default" unless set: the name vLLM serves.
    assert options["served-model-name"] == "default"
    assert interpolate(worker["environment"]["REDDITBOT_MODEL__BACKEND"], {}) == "transformers"
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_compose_spec_schema(tmp_path: Path) -> None:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which(
        "check-jsonschema"
    )
    if tool is None:
        unavailable("check-jsonschema is not installed (the dev extra installs it)")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("stop_grace_period:", "stop_grace_periods:"))
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0, "the schema check must catch an unknown key"
