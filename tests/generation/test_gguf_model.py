"""``[model] name`` as a local GGUF file: converted once, its chat template from the file."""

from __future__ import annotations

import pytest

from redditbot.domain import GenerationRequest, SamplingParams
from redditbot.errors import ModelNotFoundError
from redditbot.generation import model_store
from redditbot.generation.factory import build_generator
from redditbot.generation.settings import ModelSettings


def test_a_gguf_name_is_located_in_its_own_cache_directory(tmp_path):
    gguf = tmp_path / "Some-Chat-Model.Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF")
    settings = ModelSettings(cache_dir=tmp_path / "cache")

    location = model_store.locate_model(str(gguf), settings)

    assert location.model_id == str(gguf.resolve())
    assert location.path.parent == tmp_path / "cache" / "gguf"
    assert location.path.name.startswith("Some-Chat-Model.Q4_K_M-4-")  # name, size, mtime
    with pytest.raises(ModelNotFoundError, match="no such GGUF file"):
        model_store.locate_model(str(tmp_path / "missing.gguf"), settings)


@pytest.mark.slow  # converts and runs a real GGUF chat model (the default's own file)
def test_a_local_gguf_chat_model_runs_with_the_template_of_its_file(tmp_path, thread):
    shared = ModelSettings()
    gguf = model_store.fetch_default_gguf(shared, lambda message: None)  # the cached file
    settings = ModelSettings(name=str(gguf), cache_dir=tmp_path, device="cpu",
                             prompt_format="chat", max_new_tokens=16)  # fmt: skip

    generator = build_generator(settings)
    params = SamplingParams(max_new_tokens=16, seed=3, n=1)
    (generation,) = generator.generate([GenerationRequest("g", thread, params=params)])

    converted = model_store.gguf_model_dir(settings, gguf.resolve())
    assert model_store.is_converted(converted)
    template = (converted / "chat_template.jinja").read_text()
    assert "<|im_start|>" in template  # ChatML, as the GGUF metadata says
    assert generation.model_id == str(gguf.resolve())
    assert generation.prompt.startswith("<|im_start|>system\n")
    assert generation.candidates[0].text.strip()
