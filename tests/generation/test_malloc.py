"""Giving malloc's free memory back (generation.malloc): the real malloc_trim returning free
heap pages, only once RSS has grown, and the generator trimming as its batch decodes and ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from redditbot.domain import GenerationRequest, SamplingParams
from redditbot.generation import malloc
from redditbot.generation import transformers_backend as hf
from redditbot.generation.model_store import locate_model
from redditbot.generation.settings import ModelSettings

pytestmark = pytest.mark.skipif(malloc.glibc() is None, reason="glibc's malloc only")

# 256 KiB heap blocks (the mmap threshold raised out of their way, as glibc's dynamic threshold
# does after freeing a larger block); every other one is written (64 MiB) and freed, the others
# stay, so the free memory is inside the heap rather than at its top. A fresh process: mallopt is
# the process's own.
HELD_THEN_TRIMMED = """
import ctypes, json, re
from redditbot.generation import malloc

def anon_mib():
    status = open("/proc/self/status").read()
    return int(re.search(r"RssAnon:\\s+(\\d+)", status).group(1)) // 1024

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
blocks = [libc.malloc(256 << 10) for _ in range(512)]
for block in blocks[::2]:
    libc.memset(block, 1, 256 << 10)
for block in blocks[::2]:
    libc.free(block)
held = anon_mib()
trimmed = malloc.Trimmer().maybe(force=True)
print(json.dumps({"trimmed": trimmed, "returned_mib": held - anon_mib()}))
"""


def held_then_trimmed(**env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REDDITBOT_MALLOC")}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(HELD_THEN_TRIMMED)],
        capture_output=True, text=True, env={**environment, **env}, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_trim_gives_the_free_heap_pages_back():
    result = held_then_trimmed()
    assert result["trimmed"] and result["returned_mib"] >= 48, result
    off = held_then_trimmed(REDDITBOT_MALLOC_TRIM="0")
    assert not off["trimmed"] and off["returned_mib"] < 8, off  # freed, yet still resident


def test_trims_once_rss_has_grown_by_the_allowance_unless_forced():
    mib = 1024 * 1024
    rss = [1000 * mib]
    trimmer = malloc.Trimmer(128, rss=lambda: rss[0])
    assert not trimmer.maybe()
    rss[0] = 900 * mib  # the lowest since the last trim is what growth is counted from
    assert not trimmer.maybe()
    rss[0] = 1027 * mib
    assert not trimmer.maybe()
    rss[0] = 1028 * mib
    assert trimmer.maybe() and trimmer.floor == 1028 * mib
    assert not trimmer.maybe()
    assert trimmer.maybe(force=True) and trimmer.trims == 2


def test_the_environment_turns_trimming_off(monkeypatch):
    monkeypatch.setenv("REDDITBOT_MALLOC_TRIM", "0")
    assert not malloc.Trimmer().maybe(force=True)


@pytest.fixture(scope="module")
def generator(tiny_model_dir):
    settings = ModelSettings(device="cpu", batch_size=8, max_context_tokens=512)
    loaded = hf.load_model(locate_model(str(tiny_model_dir), settings), settings)
    return hf.TransformersGenerator(loaded, settings)


def requests(thread) -> list[GenerationRequest]:
    greedy = SamplingParams(temperature=0.0, repetition_penalty=1.0)
    return [
        GenerationRequest(key=f"job-{i}", context=replace(thread, target_body="Why? " * (i + 1)),
                          params=replace(greedy, max_new_tokens=4 + 3 * i))
        for i in range(3)
    ]  # fmt: skip


def test_the_generator_trims_once_its_batch_is_over(generator, thread, monkeypatch):
    """Not at every step (rows leave on the way): once the decoder has nothing left."""
    monkeypatch.setattr(generator, "trimmer", malloc.Trimmer(growth_mib=1 << 20))
    steps = generator.decoder.steps
    generator.generate(requests(thread))
    assert generator.decoder.steps - steps >= 10
    assert generator.trimmer.trims == 1


def test_the_generator_trims_while_decoding_once_rss_has_grown(generator, thread, monkeypatch):
    monkeypatch.setattr(generator, "trimmer", malloc.Trimmer(growth_mib=0))
    steps = generator.decoder.steps
    generator.generate(requests(thread))
    assert generator.trimmer.trims == generator.decoder.steps - steps  # no allowance: each step
