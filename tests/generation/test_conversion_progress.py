"""A model's conversion (GGUF → safetensors, on `model pull` or a first load) shows progress:
a bar over its stages on a terminal, a line per stage and per quarter of the tensors elsewhere;
transformers' own bars (carriage returns in a log) stay off."""

from __future__ import annotations

import io

import pytest

from redditbot.generation import model_store
from redditbot.generation import transformers_backend as hf
from redditbot.generation.settings import ModelSettings
from redditbot.progress import StageBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_stage_and_each_quarter_is_a_line():
    said: list[str] = []
    with StageBar("converting", 2, said.append) as stages:
        stages.start("reading")
        for done in range(1, 9):
            stages.count(done, 8)
        stages.start("writing")
    assert said == [
        "converting: 1/2 reading",
        "converting: reading 2/8", "converting: reading 4/8",
        "converting: reading 6/8", "converting: reading 8/8",
        "converting: 2/2 writing",
    ]  # fmt: skip


def test_on_a_terminal_one_bar_counts_the_stages():
    screen, said = Terminal(), []
    with StageBar("converting", 3, said.append, screen) as stages:
        stages.start("reading the tokenizer")
        stages.start("reading the weights")
        stages.count(136, 272)
        stages.start("writing safetensors")
    drawn = screen.getvalue()
    assert said == []  # nothing as lines: the bar says it
    assert "converting" in drawn and "3/3" in drawn and "reading the weights 136/272" in drawn


def test_a_failed_stage_ends_the_bar_without_counting_it():
    screen = Terminal()
    with pytest.raises(OSError), StageBar("converting", 2, print, screen) as stages:
        stages.start("reading")
        raise OSError("disk full")
    assert "0/2" in screen.getvalue() and "2/2" not in screen.getvalue()


def test_the_gguf_loaders_tensor_walk_is_counted_then_left_as_it_was():
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original, said = gguf_utils.tqdm, []
    stages = StageBar("converting", 1, said.append)
    stages.start("reading the weights")
    with hf._counted_gguf_tensors(stages):
        assert list(gguf_utils.tqdm(range(4), desc="Converting and de-quantizing")) == [0, 1, 2, 3]
    assert gguf_utils.tqdm is original
    assert said[-1] == "converting: reading the weights 4/4"


@pytest.mark.slow  # converts the default model's real GGUF file (about 25 s here)
def test_converting_a_real_gguf_reports_every_stage_and_no_transformers_bar(tmp_path, capfd):
    gguf = model_store.fetch_default_gguf(ModelSettings(), lambda line: None)  # the cached file
    capfd.readouterr()
    said: list[str] = []
    hf.convert_gguf(gguf, tmp_path / "converted", said.append)
    stages = [line for line in said if "/3 " in line]
    assert stages == [f"converting: {n}/3 {stage}" for n, stage in
                      enumerate(hf.CONVERSION_STAGES, 1)]  # fmt: skip
    counted = [line for line in said if line.startswith("converting: reading the weights ")]
    assert len(counted) == 4 and counted[-1].endswith(" 272/272")  # the model's 272 tensors
    assert said.index(counted[0]) > said.index(stages[1])  # within the weights' stage
    captured = capfd.readouterr()
    noise = captured.err + captured.out
    assert "Converting and de-quantizing" not in noise and "Loading weights" not in noise
    assert "Writing model shards" not in noise
    assert (tmp_path / "converted" / "model.safetensors").is_file()
