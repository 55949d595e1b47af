"""The optional judge model against a real HTTP server on 127.0.0.1 (issue #14 item 6)."""

from __future__ import annotations

import logging

import pytest

from redditbot.config import load_settings
from redditbot.domain import Decision
from redditbot.moderation.judge import JudgeError, parse_answer
from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.verdicts import verdict_to_dict
from tests.fake_openai import HANG, serve_openai
from tests.moderation.helpers import failing, make_draft, make_moderator
from tests.test_config import VALID, run_cli, write

server = pytest.fixture(name="server")(serve_openai)
API_KEY = "sk-judge-SECRET-987"
REPLY = "Keep it on a sunny windowsill and pinch off the flowers."


def answer(content) -> tuple[int, dict]:
    return 200, {"choices": [{"message": {"role": "assistant", "content": content}}]}


def judged(server, reply=REPLY, parent="How do I keep basil alive?", **judge):
    options = {"enabled": True, "base_url": server.url, "api_key": API_KEY, **judge}
    moderator = make_moderator(judge=options)
    return moderator.check_reply(make_draft(reply, parent=parent), ReplyState())


def test_a_safe_answer_approves_and_the_request_carries_parent_reply_and_key(server):
    server.script = [answer("safe")]
    verdict = judged(server, model="llama-guard-3")
    assert verdict.decision is Decision.APPROVE
    assert verdict.checks[-1].name == "judge" and verdict.checks[-1].passed
    (request,) = server.received
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert request["json"]["model"] == "llama-guard-3"
    assert request["json"]["messages"] == [
        {"role": "user", "content": "How do I keep basil alive?"},
        {"role": "assistant", "content": REPLY},
    ]


def test_llama_guard_unsafe_codes_become_categories(server):
    server.script = [answer("unsafe\nS10,S11")]
    verdict = judged(server)
    assert verdict.decision is Decision.REJECT
    assert verdict.reasons == ("judge:unsafe:S10", "judge:unsafe:S11")
    assert verdict_to_dict(verdict)["categories"] == {"identity_hate": 1.0, "self_harm": 1.0}


def test_the_categories_map_and_the_action_are_configurable(server):
    server.script = [answer("unsafe\nS2")]
    verdict = judged(server, categories={"S2": "cheating"}, action="review")
    assert verdict.decision is Decision.REVIEW
    assert verdict_to_dict(verdict)["categories"] == {"cheating": 1.0}


def test_safety_prompt_style_sends_a_system_prompt_and_reads_json(server):
    server.script = [answer('```json\n{"verdict": "unsafe", "categories": ["harassment"]}\n```')]
    verdict = judged(server, style="safety-prompt")
    assert failing(verdict) == {"judge": "judge:unsafe:harassment"}
    messages = server.received[0]["json"]["messages"]
    assert messages[0]["role"] == "system" and "JSON" in messages[0]["content"]
    assert REPLY in messages[1]["content"] and "basil alive" in messages[1]["content"]


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        ((500, "upstream exploded"), "answered HTTP 500"),
        ((401, "bad key"), "answered HTTP 401"),
        ((200, "<html>not json</html>"), "not a chat completion"),
        ((200, {"choices": []}), "not a chat completion"),
        (answer("I think it is probably fine?"), "unreadable answer"),
        (answer('{"verdict": "maybe"}'), "without a safe/unsafe verdict"),
    ],
)
def test_errors_and_unreadable_answers_fail_closed(server, step, reason):
    server.script = [step]
    verdict = judged(server)
    assert verdict.decision is Decision.REJECT
    assert reason in failing(verdict)["judge"]
    assert verdict.checks[-1].category == "error"


def test_a_timeout_fails_closed_and_on_error_can_ask_for_review(server):
    server.script = [HANG]
    verdict = judged(server, timeout_s=0.2, on_error="review")
    assert verdict.decision is Decision.REVIEW
    assert "timed out after 0.2 s" in failing(verdict)["judge"]


def test_an_unreachable_server_fails_closed():
    moderator = make_moderator(
        judge={"enabled": True, "base_url": "http://127.0.0.1:9/v1", "timeout_s": 1}
    )
    verdict = moderator.check_reply(make_draft(REPLY), ReplyState())
    assert verdict.decision is Decision.REJECT
    assert failing(verdict)["judge"].startswith("judge:error:cannot reach")


def test_the_api_key_is_never_in_reasons_or_logs(server, caplog):
    server.script = [(401, f"invalid key {API_KEY}"), answer("nonsense " + API_KEY)]
    with caplog.at_level(logging.DEBUG):
        verdicts = [judged(server), judged(server)]
    text = repr([verdict_to_dict(v) for v in verdicts]) + caplog.text
    assert API_KEY not in text
    assert all(v.decision is Decision.REJECT for v in verdicts)


def test_the_judge_is_off_by_default_and_then_sends_nothing(server):
    verdict = make_moderator().check_reply(make_draft(REPLY), ReplyState())
    assert "judge" not in [c.name for c in verdict.checks]
    assert server.received == []


def test_a_base_url_without_a_scheme_is_a_config_error():
    with pytest.raises(ValueError, match="judge.base_url must start with http"):
        make_moderator(judge={"enabled": True, "base_url": "127.0.0.1:8001/v1"})


@pytest.mark.parametrize(
    ("content", "safe", "codes"),
    [
        ("safe", True, ()),
        ("  Safe\n", True, ()),
        ("unsafe\nS1", False, ("S1",)),
        ("unsafe\nS1, S9", False, ("S1", "S9")),
        ("unsafe", False, ()),
        ('{"verdict": "safe", "categories": []}', True, ()),
    ],
)
def test_parse_answer(content, safe, codes):
    verdict = parse_answer(content)
    assert (verdict.safe, verdict.categories) == (safe, codes)


def test_parse_answer_refuses_prose():
    with pytest.raises(JudgeError, match="unreadable"):
        parse_answer("The reply seems safe to me.")


def test_the_key_comes_from_the_secrets_file_or_env_and_config_check_masks_it(
    tmp_path, monkeypatch
):
    config = write(tmp_path, VALID + "\n[moderation.judge]\nenabled = true\n")
    secrets = write(tmp_path, f'[moderation.judge]\napi_key = "{API_KEY}"\n', "secrets.toml")
    code, out, err = run_cli("--config", str(config), "--secrets", str(secrets), "config", "check")
    assert code == 0, err
    assert API_KEY not in out + err and '"api_key": "********"' in out
    monkeypatch.setenv("REDDITBOT_MODERATION__JUDGE__API_KEY", "from-env-key")
    judge = load_settings(config, secrets_path=secrets).moderation.judge
    assert judge.enabled and judge.api_key.get_secret_value() == "from-env-key"
