"""The path from a thread to a chosen reply, shared by the daemon's stages and ``redditbot draft``.

``reply_request`` is what the generate stage asks the model for; ``choose_reply`` is what the
moderate stage does with the candidates (every one judged, then reranked). ``Drafter`` runs both
back to back, without the store or Reddit: the same prompt, few-shot examples, candidates,
moderation and reranking that the daemon would use for the same thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from redditbot.config import Settings
from redditbot.domain import (
    Decision,
    Draft,
    Generation,
    GenerationRequest,
    Generator,
    SamplingParams,
    ThreadContext,
    Verdict,
)
from redditbot.moderation import ReplyState
from redditbot.quality import Embedder, Reranked, rerank_candidates

Example = tuple[ThreadContext, str]


@dataclass(frozen=True)
class Judged:
    """One candidate with its verdict."""

    text: str
    verdict: Verdict
    mean_logprob: float | None


@dataclass(frozen=True)
class Choice:
    """Every candidate judged, their reranking, and the one chosen."""

    judged: tuple[Judged, ...]
    reranked: Reranked

    @property
    def best(self) -> Judged:
        """The candidate reranking put first."""
        return self.judged[self.reranked.best_index]

    @property
    def rejection(self) -> str | None:
        """Why even the best may not be posted (``output:<reason>``), or None when it may."""
        verdict = self.best.verdict
        if verdict.decision is Decision.REJECT:
            return "output:" + (verdict.reasons[0] if verdict.reasons else "rejected")
        if self.reranked.filtered:
            return "output:assistant_speak"
        return None


def try_seed(params: SamplingParams, default: int | None, tries: int) -> int | None:
    """The seed of a job's try number ``tries`` (0: its first generation).

    ``params``' own seed, or else ``default``, moved on by ``tries`` times the candidates per
    try: candidate k of a try is seeded seed + k, so each try's candidates are new ones (a
    stride of one would give a regeneration the candidates just rejected, all but one)."""
    base = params.seed if params.seed is not None else default
    return None if base is None else base + tries * max(1, params.n)


def reply_request(
    settings: Settings,
    key: str,
    context: ThreadContext,
    *,
    few_shot: tuple[Example, ...] = (),
    seed: int | None = None,
    tries: int = 0,
    max_new_tokens: int | None = None,
) -> GenerationRequest:
    """The generation request for a reply in ``context.subreddit`` (its model, persona, params).

    ``seed`` is used when the configuration sets none, and ``tries`` (the job's earlier
    generations) moves it past their candidates' seeds (``try_seed``); ``max_new_tokens`` (a
    subreddit's length budget) only ever lowers the configured limit.
    """
    subreddit = context.subreddit
    model = settings.model_for(subreddit)
    params = model.default_sampling()
    params = replace(params, seed=try_seed(params, seed, tries))
    if max_new_tokens is not None:
        params = replace(params, max_new_tokens=min(params.max_new_tokens, max_new_tokens))
    return GenerationRequest(
        key=key,
        context=context,
        persona=settings.persona_for(subreddit),
        params=params,
        model=model.name if model.name != settings.model.name else None,
        few_shot=few_shot,
    )


def choose_reply(
    settings: Settings,
    context: ThreadContext,
    candidates: Sequence[dict[str, Any]],
    *,
    moderator: Any,
    embedder: Embedder | None,
    recent: tuple[str, ...] = (),
) -> Choice:
    """Judge every candidate (``{"text", "mean_logprob"}`` dicts) and rerank them."""
    persona = settings.persona_for(context.subreddit)
    footer = settings.footer_for(context.subreddit)  # the disclosure posting appends
    state = ReplyState(recent_replies=recent, persona=persona, system_prompt=persona, footer=footer)

    def judge(candidate: dict[str, Any]) -> Judged:
        draft = Draft(candidate["text"], context.subreddit, context, persona)
        verdict = moderator.check_reply(draft, state)
        return Judged(candidate["text"], verdict, candidate.get("mean_logprob"))

    judged = tuple(judge(candidate) for candidate in candidates)
    reranked = rerank_candidates(context, judged, settings=settings.quality, embedder=embedder)
    return Choice(judged, reranked)


@dataclass(frozen=True)
class Drafted:
    """One drafted reply: the generation and the choice among its candidates."""

    request: GenerationRequest
    generation: Generation
    choice: Choice
    seconds: float


class Drafter:
    """Thread in, chosen reply out, by the daemon's own path (no store, no Reddit)."""

    def __init__(
        self,
        settings: Settings,
        generator: Generator,
        *,
        moderator_for: Callable[[str], Any],
        embedder: Embedder | None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings, self.generator = settings, generator
        self.moderator_for, self.embedder, self.clock = moderator_for, embedder, clock

    def warm_up(self) -> None:
        """Load the default model and the embedder now, so that no reply's seconds count it."""
        load = getattr(self.generator, "generator_for", None)
        if load is not None:  # a remote backend has nothing to load
            load(self.settings.model.name)
        if self.embedder is not None:
            self.embedder.embed(["warm-up"])

    def draft(self, requests: Sequence[GenerationRequest]) -> list[Drafted]:
        """Generate all ``requests`` in one batch, then judge and rerank each one's candidates.

        ``seconds`` is a reply's share of the batch's generation time plus its own judging.
        """
        started = self.clock()
        generations = self.generator.generate(list(requests))
        share = (self.clock() - started) / max(1, len(requests))
        drafted = []
        for request, generation in zip(requests, generations, strict=True):
            judging = self.clock()
            candidates = [
                {"text": c.text, "mean_logprob": c.mean_logprob} for c in generation.candidates
            ]
            choice = choose_reply(
                self.settings,
                request.context,
                candidates,
                moderator=self.moderator_for(request.context.subreddit),
                embedder=self.embedder,
            )
            drafted.append(Drafted(request, generation, choice, share + self.clock() - judging))
        return drafted
