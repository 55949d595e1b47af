"""Classifiers: the shipped profanity-check model, the word list, a local transformers model,
and fail-closed behaviour when a classifier breaks."""

from __future__ import annotations

import sys

import pytest

from redditbot.domain import Decision
from redditbot.errors import ConfigError, ModelNotFoundError
from redditbot.moderation.classifiers import (
    ProfanityCheckClassifier,
    WordListClassifier,
    build_classifier,
)
from redditbot.moderation.moderator import Moderator
from redditbot.moderation.output_gate import ReplyState
from redditbot.moderation.settings import ToxicitySettings
from redditbot.moderation.wordlist import WordList, normalise
from tests.moderation.helpers import BrokenClassifier, make_draft, make_settings


def test_profanity_check_model_loads_and_separates_clean_from_abusive():
    clean, abusive = ProfanityCheckClassifier().score(
        ["Water the basil every other day.", "You are a fucking idiot."]
    )
    assert clean < 0.3 and abusive > 0.9


def test_default_moderator_uses_profanity_check_end_to_end():
    verdict = Moderator(make_settings()).check_reply(
        make_draft("Shut up, you stupid asshole."), ReplyState()
    )
    assert verdict.decision is Decision.REJECT
    assert any(r.startswith("toxicity:") for r in verdict.reasons)


def test_missing_profanity_check_fails_closed_with_a_clear_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "profanity_check", None)  # makes the import fail
    verdict = Moderator(make_settings()).check_reply(make_draft("Lovely basil."), ReplyState())
    assert verdict.decision is Decision.REJECT
    assert verdict.reasons[0].startswith("error:toxicity:ConfigError:")
    assert "alt-profanity-check" in verdict.reasons[0]


def test_a_raising_classifier_fails_closed():
    moderator = Moderator(make_settings(), classifier=BrokenClassifier())
    verdict = moderator.check_reply(make_draft("Lovely basil."), ReplyState())
    assert verdict.decision is Decision.REJECT
    assert verdict.reasons == ("error:toxicity:ValueError: model file is corrupt",)
    failed = [c for c in verdict.checks if not c.passed]
    assert [c.name for c in failed] == ["toxicity"]  # the other checks still ran and passed


def test_wordlist_normalisation_and_whole_word_matching():
    assert normalise("K1LLL   y0urs3lf") == "kil yourself"
    words = WordList(["kill yourself", "fag"])
    assert words.find("just k.i.l.l yourself") == []  # dotted letters are not folded
    assert words.find("just KILL  yourself") == ["kil yourself"]
    assert words.find("faggot and fagioli") == []  # whole words only


def test_wordlist_classifier_scores_one_or_zero():
    assert WordListClassifier().score(["kys", "keep your seeds"]) == [1.0, 0.0]


def test_build_classifier_follows_the_settings(tmp_path):
    assert build_classifier(ToxicitySettings(classifier="none")) is None
    wordlist = build_classifier(ToxicitySettings(classifier="wordlist", extra_words=["plonker"]))
    assert wordlist.score(["you plonker"]) == [1.0]
    assert isinstance(build_classifier(ToxicitySettings()), ProfanityCheckClassifier)
    with pytest.raises(ConfigError, match="needs model_path"):
        build_classifier(ToxicitySettings(classifier="transformers"))
    with pytest.raises(ModelNotFoundError, match="is not a directory"):
        build_classifier(
            ToxicitySettings(classifier="transformers", model_path=str(tmp_path / "nope"))
        )


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A tiny randomly initialised BERT classifier with labels clean/toxic, saved to disk."""
    import transformers  # a dependency of the package, not an optional one

    path = tmp_path_factory.mktemp("tiny-toxicity")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "are", "nice", "awful", "basil"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(path / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
        id2label={0: "clean", 1: "toxic"},
        label2id={"clean": 0, "toxic": 1},
    )
    transformers.set_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_transformers_classifier_returns_the_toxic_probability(tiny_model_dir):
    import torch
    import transformers

    settings = ToxicitySettings(classifier="transformers", model_path=str(tiny_model_dir))
    texts = ["you are nice", "you are awful basil"]
    scores = build_classifier(settings).score(texts)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        for text, score in zip(texts, scores, strict=True):
            logits = model(**tokenizer(text, return_tensors="pt")).logits
            assert score == pytest.approx(torch.softmax(logits, -1)[0, 1].item(), abs=1e-5)
