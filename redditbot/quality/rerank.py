"""Choose the reply to post among a job's candidates, and say why.

Moderation comes first: a candidate that passes always beats one held for review, which always
beats one rejected. With the hard filter on (``assistant_speak_filter``), a candidate with
assistant-speak ("I'm sorry", "I'd be happy to", "as an AI", ...; see ``quality.voice``) comes
after every candidate without, and when all have it the choice is ``filtered``: the moderate
stage then regenerates as for a rejection. Among equals, the higher score wins:

    score = w.target * relevance to the comment answered (cosine of sentence embeddings)
          + w.thread * relevance to the thread (title and self-text)
          + w.fluency * exp(mean token log-probability)  (the generator's geometric-mean
                                                         token probability, in [0, 1])
          + w.length * length fit  (min(len/target, target/len), in [0, 1])
          - w.assistant_speak  when the candidate has any assistant-speak

Every candidate's parts are returned so that the stage can store them with the generation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from redditbot.domain import Decision, ThreadContext, Verdict
from redditbot.quality.embeddings import Embedder, cosine
from redditbot.quality.settings import QualitySettings, QualityWeights
from redditbot.quality.voice import assistant_phrases, compile_phrases

DECISION_RANK = {Decision.APPROVE: 0, Decision.REVIEW: 1, Decision.REJECT: 2}


class JudgedCandidate(Protocol):
    """A candidate with its moderation verdict (``pipeline.drafting.Judged`` is one)."""

    @property
    def text(self) -> str: ...

    @property
    def verdict(self) -> Verdict: ...

    @property
    def mean_logprob(self) -> float | None: ...


@dataclass(frozen=True)
class CandidateScore:
    """One candidate's score and its parts (None: not computed, quality scoring is off)."""

    decision: str
    score: float
    relevance_target: float | None
    relevance_thread: float | None
    fluency: float
    length_fit: float | None
    chars: int
    chosen: bool = False
    assistant_speak: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready record stored under the candidate's ``"quality"`` key."""
        return asdict(self)


@dataclass(frozen=True)
class Reranked:
    """The winner's index and every candidate's score, in the candidates' order."""

    best_index: int
    scores: tuple[CandidateScore, ...]
    filtered: bool = False  # the hard filter is on and even the best has assistant-speak

    def stored_candidates(self, candidates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """New copies of the stored candidate dicts, each with its ``"quality"`` record."""
        return [
            {**candidate, "quality": score.as_dict()}
            for candidate, score in zip(candidates, self.scores, strict=True)
        ]


def rerank_candidates(
    context: ThreadContext,
    judged: Sequence[JudgedCandidate],
    *,
    settings: QualitySettings,
    embedder: Embedder | None,
) -> Reranked:
    """Score every candidate and pick the best: moderation first, then the weighted score.

    With ``settings.enabled`` false (or no embedder) the score is fluency alone, which is the
    old rule: the generator's most confident passing candidate.
    """
    if not judged:
        raise ValueError("rerank_candidates needs at least one candidate")
    if settings.enabled and embedder is not None:
        scores = _full_scores(context, judged, settings, embedder)
    else:
        scores = [_fluency_only(candidate) for candidate in judged]
    scores = _penalise_assistant_speak(scores, judged, settings)
    hard = settings.assistant_speak_filter
    best = min(range(len(judged)), key=lambda i: _rank(judged[i], scores[i], hard))
    chosen = tuple(replace(score, chosen=i == best) for i, score in enumerate(scores))
    return Reranked(best, chosen, filtered=hard and bool(scores[best].assistant_speak))


def _rank(candidate: JudgedCandidate, score: CandidateScore, hard: bool) -> tuple[int, int, float]:
    filtered = int(hard and bool(score.assistant_speak))
    return DECISION_RANK[candidate.verdict.decision], filtered, -score.score


def _penalise_assistant_speak(
    scores: list[CandidateScore], judged: Sequence[JudgedCandidate], settings: QualitySettings
) -> list[CandidateScore]:
    """Each score with its assistant-speak phrases, lowered by the weight when it has any."""
    patterns = compile_phrases(settings.assistant_speak_phrases)
    penalty = settings.weights.assistant_speak
    marked = []
    for score, candidate in zip(scores, judged, strict=True):
        found = tuple(assistant_phrases(candidate.text, patterns))
        total = round(score.score - penalty, 4) if found else score.score
        marked.append(replace(score, score=total, assistant_speak=found))
    return marked


def _full_scores(
    context: ThreadContext,
    judged: Sequence[JudgedCandidate],
    settings: QualitySettings,
    embedder: Embedder,
) -> list[CandidateScore]:
    target, thread, *replies = embedder.embed(
        [target_text(context), thread_text(context), *(c.text for c in judged)]
    )
    goal = settings.target_chars_for(context.subreddit)
    return [
        _weighted(
            candidate,
            settings.weights,
            (cosine(reply, target), cosine(reply, thread)),
            goal,
            cap=settings.relevance_cap,
        )
        for candidate, reply in zip(judged, replies, strict=True)
    ]


def _weighted(
    candidate: JudgedCandidate,
    weights: QualityWeights,
    relevance: tuple[float, float],
    target_chars: int,
    cap: float = 1.0,
) -> CandidateScore:
    on_target, on_thread = relevance
    fluency = fluency_of(candidate.mean_logprob)
    fit = length_fit(candidate.text, target_chars)
    total = (
        weights.target * min(on_target, cap)
        + weights.thread * min(on_thread, cap)
        + weights.fluency * fluency
        + weights.length * fit
    )
    return CandidateScore(
        decision=candidate.verdict.decision.value,
        score=round(total, 4),
        relevance_target=round(on_target, 4),
        relevance_thread=round(on_thread, 4),
        fluency=round(fluency, 4),
        length_fit=round(fit, 4),
        chars=len(candidate.text.strip()),
    )


def _fluency_only(candidate: JudgedCandidate) -> CandidateScore:
    fluency = round(fluency_of(candidate.mean_logprob), 4)
    return CandidateScore(
        decision=candidate.verdict.decision.value,
        score=fluency,
        relevance_target=None,
        relevance_thread=None,
        fluency=fluency,
        length_fit=None,
        chars=len(candidate.text.strip()),
    )


def fluency_of(mean_logprob: float | None) -> float:
    """exp(mean token log-probability), in [0, 1]; 0.0 when the backend gave none."""
    return math.exp(min(mean_logprob, 0.0)) if mean_logprob is not None else 0.0


def length_fit(text: str, target_chars: int) -> float:
    """1.0 at the target length, falling as the ratio either way: min(n/t, t/n)."""
    size = len(text.strip())
    if size == 0:
        return 0.0
    return min(size / target_chars, target_chars / size)


def thread_text(context: ThreadContext) -> str:
    """The thread as relevance sees it: title and self-text."""
    return f"{context.title}\n{context.selftext}".strip()


def target_text(context: ThreadContext) -> str:
    """What the reply answers: the target comment, or the thread when answering the post."""
    return (context.target_body or "").strip() or thread_text(context)
