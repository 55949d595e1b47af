"""The package as an operator installs it: a wheel, not editable, in a fresh virtualenv.

The wheel is built from a copy of the sources (no stale ``build/`` of the checkout can leak into
it), installed with ``--no-deps`` into a new virtualenv whose only view of the dependencies is a
``.pth`` line naming this interpreter's site-packages (offline, seconds), and then the installed
console script migrates a new database, checks the configuration and runs one cycle against the
sandbox Reddit, from a directory outside the checkout. A file the wheel lacks (the migrations,
the sandbox corpus) fails here, not in production.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from redditbot import __version__
from tests.daemon.conftest import write_config

REPO = Path(__file__).resolve().parents[2]
FILES = ("pyproject.toml", "README.md")

pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 180):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)  # fmt: skip
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(work: Path) -> Path:
    source = work / "src"
    source.mkdir()
    for name in FILES:
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "redditbot", source / "redditbot", ignore=ignore)
    dist = work / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "--wheel-dir", str(dist), str(source)], work, clean_env())  # fmt: skip
    (wheel,) = dist.glob(f"redditbot-{__version__}-*.whl")  # the version has one source
    return wheel


def clean_env() -> dict[str, str]:
    """The environment without anything that points Python at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "REDDITBOT_"))}
    return env | {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONNOUSERSITE": "1"}


def fresh_venv(work: Path, wheel: Path) -> Path:
    """A new virtualenv with the wheel installed; dependencies seen through a .pth line."""
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, clean_env())
    python = venv / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  work, clean_env()).stdout.strip()  # fmt: skip
    # A plain path line: the .pth files *inside* that directory (the checkout's editable finder)
    # are not processed, so the dependencies come from there and redditbot from the wheel.
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)], work, clean_env())  # fmt: skip
    return venv


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    return fresh_venv(work, build_wheel(work))


def test_the_wheel_imports_from_the_venv_not_the_checkout(installed, tmp_path) -> None:
    probe = ("import json, sys, redditbot, redditbot.store.migrate as m; print(json.dumps("
             "[redditbot.__file__, str(m.MIGRATIONS_DIR), sys.path]))")  # fmt: skip
    result = run([str(installed / "bin" / "python"), "-c", probe], tmp_path, clean_env())
    package, migrations, path = json.loads(result.stdout)
    assert Path(package).is_relative_to(installed), package
    assert Path(migrations).is_relative_to(installed) and Path(migrations, "env.py").exists()
    assert sorted(p.name for p in Path(migrations, "versions").glob("0*.py")) == sorted(
        p.name for p in (REPO / "redditbot/store/migrations/versions").glob("0*.py")
    )
    assert str(REPO) not in path and "" not in path[1:], path


def test_installed_wheel_migrates_checks_and_runs_against_the_sandbox(
    installed, tmp_path, live_sandbox, fake_openai
) -> None:
    db = tmp_path / "bot.db"
    config = write_config(tmp_path / "bot.toml", sandbox_url=live_sandbox.url,
                          db_url=f"sqlite:///{db}", openai_url=fake_openai.url,
                          migrate_db=False)  # fmt: skip
    bot = [str(installed / "bin" / "redditbot"), "--config", str(config)]
    env = clean_env()
    assert not db.exists()
    run([*bot, "db", "upgrade"], tmp_path, env)
    run([*bot, "db", "check"], tmp_path, env)
    checked = run([*bot, "config", "check"], tmp_path, env)
    assert '"client_secret": "********"' in checked.stdout
    once = run([*bot, "run", "--once"], tmp_path, env)
    counts = dict(part.split("=") for part in once.stdout.split())
    assert int(counts["listen"]) > 0 and int(counts["select"]) > 0, once.stdout
    assert fake_openai.requests > 0, once.stdout + once.stderr
