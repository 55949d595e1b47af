"""``redditbot draft`` with the real default model: the JSON contract, bad lines, natural ends."""

from __future__ import annotations

import io
import json

import pytest

from redditbot.cli import main
from redditbot.cli.draft import InputError, parse_input
from redditbot.generation.model_store import DEFAULT_MODEL_ID
from redditbot.generation.text import trim_partial_sentence

BREAD = {
    "subreddit": "Cooking", "title": "My bread never rises", "author": "asker",
    "selftext": "I bake a white loaf every weekend and the dough stays flat.",
    "ancestors": [{"author": "baker_op", "text": "Same recipe every time?"}],
    "text": "Could the yeast be dead? It is a year old and I keep it in the cupboard.",
}  # fmt: skip
POST = {"subreddit": "r/learnpython", "title": "Why does my list change when I copy it?",
        "author": "newbie"}  # fmt: skip


@pytest.mark.slow  # the real default model and embedder
def test_draft_answers_every_good_line_and_names_each_bad_one(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/unused.db"\n'
        '[model]\ndevice = "cpu"\nthreads = 1\nmax_new_tokens = 24\ncandidates = 2\n'
    )
    lines = [json.dumps(BREAD), json.dumps({**POST, "title": 5}), "not json", json.dumps(POST)]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out, err = io.StringIO(), io.StringIO()

    code = main(["-c", str(config), "draft", str(source)], out=out, err=err)

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 1  # some line was bad
    assert [r["line"] for r in records] == [1, 2, 3, 4]  # one out per line in, in order
    assert records[1]["error"] == "line 2, field 'title': must be a string, not int"
    assert records[2]["error"].startswith("line 3: not JSON")
    assert "line 2, field 'title'" in err.getvalue()
    assert not (tmp_path / "unused.db").exists()  # no store
    for record in (records[0], records[3]):
        assert record["model"] == DEFAULT_MODEL_ID and record["backend"] == "transformers"
        assert record["prompt_tokens"] > 20 and record["seconds"] > 0
        assert len(record["candidates"]) == 2
        chosen = record["candidates"][record["chosen"]]
        assert record["reply"] == chosen["text"] and chosen["scores"]["chosen"]
        assert record["decision"] == chosen["moderation"]["decision"]
        for candidate in record["candidates"]:
            text = candidate["text"]
            assert text.strip() and "\n" not in text  # the bot's line ends the reply
            assert candidate["moderation"]["decision"] in ("approve", "review", "reject")
            assert {"relevance_target", "fluency", "assistant_speak"} <= set(candidate["scores"])
            # a natural end: the model stopped, or what the limit cut is trimmed to a sentence
            assert candidate["finish_reason"] == "stop" or trim_partial_sentence(text) == text


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", "line 7: not a JSON object"),
        (json.dumps({**POST, "subreddit": " "}), "line 7, field 'subreddit': empty"),
        (json.dumps({"title": "t", "author": "a"}), "line 7, field 'subreddit': missing"),
        (json.dumps({**POST, "author": None}), "line 7, field 'author': missing"),
        (json.dumps({**POST, "ancestors": "no"}), "line 7, field 'ancestors': must be a list"),
        (json.dumps({**POST, "ancestors": [{"author": "a"}]}),
         "line 7, field 'ancestors[0]': must be an object with a string 'text'"),
    ],
)  # fmt: skip
def test_bad_lines_say_which_line_and_field(line, message):
    with pytest.raises(InputError) as caught:
        parse_input(7, line)
    assert str(caught.value).startswith(message)


def test_a_line_becomes_the_context_the_stages_build():
    item = parse_input(1, json.dumps(BREAD))
    context = item.context
    assert (context.subreddit, context.target_author) == ("Cooking", "asker")
    assert context.target_body == BREAD["text"] and context.submission_author == "asker"
    chain = [(c.author, c.body) for c in context.ancestors]
    assert chain == [("baker_op", "Same recipe every time?")]
    post = parse_input(2, json.dumps(POST)).context
    assert post.subreddit == "learnpython" and post.target_body is None  # answers the post
