"""The openai backend against a real stdlib HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from redditbot.domain import GenerationRequest, SamplingParams
from redditbot.errors import ConfigError, PartialGenerationError, PermanentError, TransientError
from redditbot.generation.openai_backend import OpenAIGenerator
from redditbot.generation.settings import ModelSettings
from tests.fake_openai import HANG, serve_openai

server = pytest.fixture(name="server")(serve_openai)

API_KEY = "sk-test-SECRET-123"


def completion(*texts: str, finish: str = "stop") -> dict:
    return {
        "model": "served-model",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": {"content": [{"logprob": -0.5}, {"logprob": -1.5}]},
            }
            for i, text in enumerate(texts)
        ],
        "usage": {"prompt_tokens": 57, "completion_tokens": 2 * len(texts)},
    }


def make_generator(server, sleeps: list[float] | None = None, **overrides) -> OpenAIGenerator:
    options = {"max_retries": 2, "retry_backoff_s": 1.0, **overrides}
    settings = ModelSettings(
        backend="openai",
        name="my-model",
        base_url=server.url,
        api_key=SecretStr(API_KEY),
        **options,
    )
    recorded = sleeps if sleeps is not None else []
    return OpenAIGenerator(settings, sleep=recorded.append)


def test_success_sends_the_thread_and_records_the_generation(server, thread):
    server.script = [(200, completion("Use a generator.  It streams!", "Try mmap."))]
    params = SamplingParams(temperature=0.5, top_p=0.9, top_k=20, max_new_tokens=64, seed=3, n=2)
    request = GenerationRequest("job-9", thread, persona="Be kind.", params=params)
    result = make_generator(server).generate([request])[0]

    sent = server.received[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    payload = sent["json"]
    assert payload["model"] == "my-model"
    assert (payload["temperature"], payload["top_p"], payload["max_tokens"]) == (0.5, 0.9, 64)
    assert (payload["n"], payload["seed"], payload["top_k"]) == (2, 3, 20)
    assert payload["messages"][0]["content"].startswith("Be kind.")
    assert "> What about memory usage with huge files?" in payload["messages"][-1]["content"]

    assert result.key == "job-9" and result.backend == "openai"
    assert result.model_id == "served-model" and result.tokens_in == 57
    assert [c.text for c in result.candidates] == ["Use a generator. It streams!", "Try mmap."]
    assert result.candidates[0].mean_logprob == -1.0 and result.candidates[0].tokens_out == 2
    assert "> What about memory usage with huge files?" in result.prompt
    assert API_KEY not in json.dumps(result.params) and result.params["seed"] == 3


def test_request_model_overrides_the_configured_one(server, thread):
    server.script = [(200, completion("ok."))]
    make_generator(server).generate([GenerationRequest("k", thread, model="other-model")])
    assert server.received[0]["json"]["model"] == "other-model"


def test_extensions_can_be_switched_off_for_openai_itself(server, thread):
    server.script = [(200, completion("ok."))]
    make_generator(server, openai_extensions=False).generate([GenerationRequest("k", thread)])
    assert "top_k" not in server.received[0]["json"]
    assert "repetition_penalty" not in server.received[0]["json"]


def test_many_requests_come_back_in_order(server, thread):
    server.script = [(200, completion("same."))] * 5
    requests = [GenerationRequest(f"k{i}", thread) for i in range(5)]
    assert [g.key for g in make_generator(server).generate(requests)] == [r.key for r in requests]
    assert len(server.received) == 5


def test_one_failed_request_does_not_cost_the_others_their_replies(server, thread):
    server.script = [(200, completion("first.")), (400, "too long"), (200, completion("third."))]
    requests = [GenerationRequest(f"k{i}", thread) for i in range(3)]
    generator = make_generator(server, batch_size=1)  # one at a time: the script's order holds
    with pytest.raises(PartialGenerationError) as error:
        generator.generate(requests)
    assert [g.key for g in error.value.generations] == ["k0", "k2"]
    assert [g.candidates[0].text for g in error.value.generations] == ["first.", "third."]
    assert list(error.value.failures) == ["k1"]
    assert isinstance(error.value.failures["k1"], PermanentError)


def test_a_batch_that_fails_whole_raises_the_error_itself(server, thread):
    server.script = [(401, "bad key")] * 2
    requests = [GenerationRequest(f"k{i}", thread) for i in range(2)]
    with pytest.raises(ConfigError, match="check \\[model\\] api_key"):
        make_generator(server).generate(requests)


def test_timeout_is_retried_then_reported(server, thread):
    server.script = [HANG, HANG]
    sleeps: list[float] = []
    generator = make_generator(server, sleeps, timeout_s=0.2, max_retries=1)
    with pytest.raises(TransientError, match="timed out after 0.2 s.*gave up after 2 attempts"):
        generator.generate([GenerationRequest("k", thread)])
    assert len(server.received) == 2 and sleeps == [1.0]


def test_5xx_is_retried_with_backoff_then_succeeds(server, thread):
    server.script = [(503, "busy"), (502, "bad gateway"), (200, completion("Finally."))]
    sleeps: list[float] = []
    result = make_generator(server, sleeps).generate([GenerationRequest("k", thread)])[0]
    assert result.candidates[0].text == "Finally."
    assert sleeps == [1.0, 2.0]


def test_5xx_gives_up_after_the_retry_budget(server, thread):
    server.script = [(500, "boom")] * 3
    sleeps: list[float] = []
    with pytest.raises(TransientError, match="HTTP 500: boom.*gave up after 3 attempts"):
        make_generator(server, sleeps).generate([GenerationRequest("k", thread)])
    assert len(server.received) == 3 and sleeps == [1.0, 2.0]


def test_429_waits_as_long_as_the_server_asks(server, thread):
    server.script = [(429, "slow down"), (200, completion("ok."))]
    sleeps: list[float] = []
    make_generator(server, sleeps).generate([GenerationRequest("k", thread)])
    assert sleeps == [7.0]


def test_4xx_is_not_retried(server, thread):
    server.script = [(400, {"error": "context too long"})]
    sleeps: list[float] = []
    with pytest.raises(PermanentError) as error:
        make_generator(server, sleeps).generate([GenerationRequest("k", thread)])
    assert error.value.reason == "generation_http_400" and "context too long" in str(error.value)
    assert len(server.received) == 1 and sleeps == []


def test_401_is_a_config_error_that_never_shows_the_key(server, thread):
    server.script = [(401, f"invalid key {API_KEY}")]
    with pytest.raises(ConfigError) as error:
        make_generator(server).generate([GenerationRequest("k", thread)])
    assert "api_key" in str(error.value) and API_KEY not in str(error.value)
    assert len(server.received) == 1


def test_bad_json_is_a_clear_error(server, thread):
    server.script = [(200, "<html>proxy error</html>")]
    with pytest.raises(TransientError, match="invalid JSON.*<html>proxy error"):
        make_generator(server, max_retries=0).generate([GenerationRequest("k", thread)])


def test_json_without_choices_is_a_clear_error(server, thread):
    server.script = [(200, {"object": "error"})]
    with pytest.raises(TransientError, match="no 'choices'"):
        make_generator(server, max_retries=0).generate([GenerationRequest("k", thread)])


def test_unreachable_server(thread):
    settings = ModelSettings(backend="openai", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(TransientError, match="cannot reach http://127.0.0.1:9/v1"):
        OpenAIGenerator(settings, sleep=lambda s: None).generate([GenerationRequest("k", thread)])


def test_api_key_is_hidden_in_the_settings_repr():
    settings = ModelSettings(backend="openai", api_key=SecretStr(API_KEY))
    assert API_KEY not in repr(settings) and API_KEY not in str(settings.model_dump())
