"""Reply quality: rerank a job's candidates, and pick few-shot examples per subreddit.

``rerank_candidates`` orders candidates by moderation first, then by a weighted score of
relevance (sentence embeddings), fluency (the generator's mean token log-probability) and length
fit. Importing this package loads no model: sentence-transformers is imported by
``embeddings.SentenceEmbedder`` only, on first use.
"""

from redditbot.quality.embeddings import Embedder, SentenceEmbedder, build_embedder
from redditbot.quality.fewshot import few_shot_examples
from redditbot.quality.rerank import CandidateScore, Reranked, rerank_candidates
from redditbot.quality.settings import QualitySettings, QualityWeights

__all__ = [
    "CandidateScore",
    "Embedder",
    "QualitySettings",
    "QualityWeights",
    "Reranked",
    "SentenceEmbedder",
    "build_embedder",
    "few_shot_examples",
    "rerank_candidates",
]
