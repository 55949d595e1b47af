"""The layering of docs/architecture.md, as import-linter contracts in pyproject.toml.

``make lint`` (so ``make test``) runs ``lint-imports``; these tests run the same contracts from
pytest, check that their module lists name every top-level module (a new module cannot slip
past them), and that each contract really breaks when a module makes the import it forbids.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import redditbot
from tests.promise import require_module

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(redditbot.__file__).parent
CONTRACTS = {
    c["id"]: c
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
}
# One import each contract forbids, added to a copy of the package: (contract, file, line).
VIOLATIONS = [
    ("stages-no-adapter", "pipeline/listen.py", "import redditbot.reddit.gateway"),
    ("stages-no-adapter", "pipeline/generate.py", "import redditbot.generation.factory"),
    ("stages-through-packages", "pipeline/select.py", "import redditbot.moderation.rules"),
    ("domain-alone", "domain.py", "import redditbot.errors"),
    ("store-no-stage", "store/queries.py", "import redditbot.pipeline.post"),
    ("generation-moderation-no-adapter", "moderation/rules.py", "import redditbot.reddit"),
    ("generation-moderation-no-adapter", "generation/prompts.py", "import praw"),
    ("cli-on-top", "web/app.py", "import redditbot.cli.common"),
]


def top_level_modules() -> set[str]:
    names = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.parent.name for p in PACKAGE.glob("*/__init__.py")
    }
    return {f"redditbot.{name}" for name in names - {"__init__", "__main__"}}


def lint_imports(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    require_module("importlinter", "the dev extra (pip install -e '.[dev]')")
    code = "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"
    args = [arg for contract in contracts for arg in ("--contract", contract)]
    env = os.environ | {"PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_the_contracts_name_every_top_level_module() -> None:
    everything = top_level_modules()
    domain = CONTRACTS["domain-alone"]
    assert set(domain["forbidden_modules"]) == everything - {"redditbot.domain"}
    assert set(CONTRACTS["cli-on-top"]["source_modules"]) == everything - {"redditbot.cli"}
    assert {contract for contract, _, _ in VIOLATIONS} == set(CONTRACTS)  # each one is tried


@pytest.fixture(scope="module")
def broken_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package with every violation of VIOLATIONS added."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(PACKAGE, root / "redditbot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for _, path, line in VIOLATIONS:
        module = root / "redditbot" / path
        module.write_text(module.read_text() + f"\n{line}  # the violation\n")
    return root


@pytest.mark.parametrize("contract", sorted(CONTRACTS))
def test_each_contract_breaks_on_the_import_it_forbids(broken_copy: Path, contract: str) -> None:
    assert any(c == contract for c, _, _ in VIOLATIONS), f"no violation tries {contract}"
    result = lint_imports(broken_copy, contract)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    for violating, path, line in VIOLATIONS:
        if violating == contract:
            module = "redditbot." + path.removesuffix(".py").replace("/", ".")
            assert module in result.stdout, f"{module} ({line}) not reported:\n{result.stdout}"


def test_the_architecture_doc_names_what_exists() -> None:
    """docs/architecture.md names each contract, and the modules and tests it points at exist."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for contract in CONTRACTS:
        assert f"`{contract}`" in doc, f"docs/architecture.md does not explain {contract}"
    for path, name in re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", doc):
        assert re.search(rf"def {name}\b", (ROOT / path).read_text()), f"{path}::{name}"
    for path in re.findall(r"`((?:tests/)?[\w/]+\.py)`", doc):
        where = ROOT / path if path.startswith("tests/") else PACKAGE / path
        assert where.exists(), f"docs/architecture.md names {path}, which does not exist"
