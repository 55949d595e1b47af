"""The openai backend: any server with an OpenAI-compatible ``/v1/chat/completions``.

This is how a deployment moves generation off the bot's machine (vLLM, llama.cpp's server,
OpenAI). Requests run concurrently, each with a timeout and bounded retries on timeouts, 429 and
5xx answers. The API key goes into the Authorization header and nowhere else: not in logs, not
in error messages, not in ``Generation.params``.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

from redditbot.domain import Candidate, Generation, GenerationRequest
from redditbot.errors import (
    ConfigError,
    PartialGenerationError,
    PermanentError,
    TransientError,
)
from redditbot.generation.prompts import ApproxTokenizer, build_messages, render_plain
from redditbot.generation.settings import ModelSettings
from redditbot.generation.text import postprocess_reply

log = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
CONFIG_STATUSES = {
    401: "check [model] api_key",
    403: "check [model] api_key",
    404: "check [model] base_url and name",
}
BODY_EXCERPT_CHARS = 200


class OpenAIGenerator:
    """``Generator`` over HTTP; ``sleep`` and ``clock`` are injectable for tests."""

    backend = "openai"

    def __init__(
        self,
        settings: ModelSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self._sleep = sleep
        self._clock = clock
        self._tokenizer = ApproxTokenizer()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One HTTP call per request, up to ``batch_size`` of them at a time.

        One failed request does not cost the others their replies: when some fail and some
        succeed, ``PartialGenerationError`` carries both. When all fail, the first error is
        raised as it is; a ``ConfigError`` (a bad key, a wrong URL) always is.
        """
        if len(requests) <= 1:
            return [self._generate_one(request) for request in requests]
        with ThreadPoolExecutor(max_workers=min(self.settings.batch_size, len(requests))) as pool:
            outcomes = list(pool.map(self._outcome, requests))
        failures = {r.key: o for r, o in zip(requests, outcomes) if isinstance(o, Exception)}
        generations = [outcome for outcome in outcomes if isinstance(outcome, Generation)]
        if not failures:
            return generations
        config = [error for error in failures.values() if isinstance(error, ConfigError)]
        if config or not generations:
            raise (config or list(failures.values()))[0]
        raise PartialGenerationError(generations, failures)

    def _outcome(self, request: GenerationRequest) -> Generation | Exception:
        try:
            return self._generate_one(request)
        except Exception as exc:  # noqa: BLE001 (kept per request; raised by generate)
            return exc

    def _generate_one(self, request: GenerationRequest) -> Generation:
        model = request.model or self.settings.name
        budget = self.settings.max_context_tokens - request.params.max_new_tokens
        messages = build_messages(request, self._tokenizer, budget, self.settings.persona)
        started = self._clock()
        answer = self._post_with_retries(self._payload(model, messages, request))
        return Generation(
            key=request.key,
            model_id=str(answer.get("model") or model),
            prompt=render_plain(messages),
            params={**asdict(request.params), "base_url": self.settings.base_url},
            candidates=_candidates(answer),
            tokens_in=int((answer.get("usage") or {}).get("prompt_tokens") or 0),
            latency_s=self._clock() - started,
            backend=self.backend,
        )

    def _payload(self, model: str, messages, request: GenerationRequest) -> dict[str, Any]:
        params = request.params
        payload: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
            "n": params.n,
            "logprobs": True,
        }
        if params.seed is not None:
            payload["seed"] = params.seed
        if self.settings.openai_extensions:
            payload["top_k"] = params.top_k
            payload["repetition_penalty"] = params.repetition_penalty
        return payload

    # ----------------------------------------------------------------------- HTTP

    def _post_with_retries(self, payload: dict[str, Any]) -> dict[str, Any]:
        attempts = self.settings.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._post(payload)
            except TransientError as exc:
                if attempt == attempts:
                    raise TransientError(
                        f"{exc} (gave up after {attempts} attempts)", retry_after=exc.retry_after
                    ) from exc
                delay = exc.retry_after or self.settings.retry_backoff_s * 2 ** (attempt - 1)
                log.warning("generation server: %s; retry %d in %.1f s", exc, attempt, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url, data=json.dumps(payload).encode(), headers=self._headers(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except TimeoutError as exc:
            raise TransientError(f"{self.url} timed out after {self.settings.timeout_s} s") from exc
        except (urllib.error.URLError, ConnectionError) as exc:
            raise TransientError(f"cannot reach {self.url}: {_reason(exc)}") from exc
        return self._parse(body)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.settings.api_key is not None:
            headers["Authorization"] = f"Bearer {self.settings.api_key.get_secret_value()}"
        return headers

    def _http_error(self, exc: urllib.error.HTTPError) -> Exception:
        message = f"{self.url} answered HTTP {exc.code}: {self._excerpt(exc.read())}"
        if exc.code in RETRIED_STATUSES:
            return TransientError(message, retry_after=_retry_after(exc.headers.get("Retry-After")))
        if exc.code in CONFIG_STATUSES:
            return ConfigError(f"{message} ({CONFIG_STATUSES[exc.code]})")
        return PermanentError(message, reason=f"generation_http_{exc.code}")

    def _parse(self, body: bytes) -> dict[str, Any]:
        try:
            answer = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TransientError(
                f"{self.url} returned invalid JSON ({exc}): {self._excerpt(body)}"
            ) from None
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise TransientError(f"{self.url} returned no 'choices': {self._excerpt(body)}")
        return answer

    def _excerpt(self, body: bytes) -> str:
        """A short, key-free piece of a response body for an error message."""
        text = body.decode("utf-8", "replace")[:BODY_EXCERPT_CHARS]
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        return (text.replace(key, "***") if key else text).strip() or "(empty body)"


def _candidates(answer: dict[str, Any]) -> tuple[Candidate, ...]:
    candidates = []
    for choice in answer["choices"]:
        content = (choice.get("message") or {}).get("content") or ""
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        logprobs = [
            t.get("logprob", 0.0) for t in (choice.get("logprobs") or {}).get("content") or []
        ]
        candidates.append(
            Candidate(
                text=postprocess_reply(content, truncated=finish == "length"),
                tokens_out=len(logprobs) or _completion_tokens(answer, len(answer["choices"])),
                mean_logprob=sum(logprobs) / len(logprobs) if logprobs else None,
                finish_reason=finish,
            )
        )
    return tuple(candidates)


def _completion_tokens(answer: dict[str, Any], choices: int) -> int:
    total = int((answer.get("usage") or {}).get("completion_tokens") or 0)
    return total // max(1, choices)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "reason", exc))
