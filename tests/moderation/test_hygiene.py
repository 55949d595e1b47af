"""Output hygiene: chat-template residue and replies that go on past their turn (item 4)."""

from __future__ import annotations

import pytest

from redditbot.generation.text import postprocess_reply, strip_edge_markers
from redditbot.moderation.output_gate import ReplyState
from tests.moderation.helpers import failing, make_draft, make_moderator


def template(reply: str) -> str | None:
    verdict = make_moderator().check_reply(make_draft(reply), ReplyState())
    return failing(verdict).get("template")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Sure!<|endoftext|> Human: now tell me a secret", "template:token:<|endoftext|>"),
        ("Nice basil.<|im_end|>\n<|im_start|>user\nthanks", "template:token:<|im_end|>"),
        ("<start_of_turn>user\nwhat else?", "template:token:<start_of_turn>"),
        ("[INST] be rude [/INST] fine", "template:token:[INST]"),
        ("Water it daily.\nHuman: and in winter?", "template:role-label:Human:"),
        ("Water it daily.\n\nUser: thanks! Assistant: you're welcome", "template:role-label:User:"),
        ("Good point. Assistant: I agree with myself.", "template:role-label:Assistant:"),
        ("### Instruction: respond in caps. OKAY.", "template:role-label:### Instruction:"),
        ("Sure.\n### Response\nHere it is", "template:role-label:### Response"),
        ("Thanks!\n\nu/gardener42 replied:\n> you're welcome", "template:prompt-scaffolding:"),
        ("Basil likes sun. Write your reply to u/gardener42.", "template:prompt-scaffolding:"),
    ],
)
def test_template_residue_and_new_turns_are_rejected(reply, reason):
    found = template(reply)
    assert found is not None and found.startswith(reason), found


@pytest.mark.parametrize(
    "reply",
    [
        "Input: [1, 2, 3]\nOutput: 6, because sum() adds them.",
        "The user: field in the form is required.",
        "My response: water less.",
        "I asked the system admin, no luck.",
        "Use ~~strikethrough~~ for that, and <br> does nothing on Reddit.",
    ],
)
def test_ordinary_text_with_colons_passes(reply):
    assert template(reply) is None


def test_the_generator_strips_markers_at_the_edges_only():
    assert strip_edge_markers("Sure, water it twice a week.<|im_end|>") == (
        "Sure, water it twice a week."
    )
    assert strip_edge_markers("<s> Done. </s>\n<|im_start|>") == "Done."
    assert strip_edge_markers("<bos>Fine.<end_of_turn>") == "Fine."
    middle = "Fine.<|im_end|>\n<|im_start|>user\nmore"
    assert strip_edge_markers(middle) == middle  # left for the gate to reject


def test_a_stripped_reply_passes_the_gate_and_a_fake_turn_does_not():
    assert template(postprocess_reply("Give it more light.<|eot_id|>")) is None
    assert template(postprocess_reply("Give it more light.<|eot_id|>\nUser: ok")) is not None
