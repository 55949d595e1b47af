"""Fixtures: a tiny, randomly initialised Llama model with a locally trained BPE tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from redditbot.domain import ContextComment, ThreadContext

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "How do I read a file line by line in Python without loading it all into memory?",
    "Use a for loop over the file object; it reads one line at a time.",
    "What about memory usage with huge files? My laptop has only eight gigabytes.",
    "The best pizza in town is at the corner place, they bake it in a wood oven.",
    "I disagree, the sourdough crust at the market stall is much better.",
    "Subreddit post title text comment reply wrote earlier oldest first user system assistant",
] * 20


def build_tiny_model(directory: Path, *, chat_template: bool) -> Path:
    """Save a 2-layer, 64-wide Llama and its tokenizer in ``directory``; no hub involved."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<unk>", pad_token="<|endoftext|>", eos_token="<|im_end|>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    if chat_template:
        tokenizer.chat_template = CHATML
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, one_torch_thread) -> Path:
    """A tiny model whose tokenizer has a ChatML chat template."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-chat"), chat_template=True)


@pytest.fixture(scope="session")
def tiny_plain_model_dir(tmp_path_factory, one_torch_thread) -> Path:
    """A tiny model without a chat template (prompts use the plain turn format)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-plain"), chat_template=False)


@pytest.fixture
def thread() -> ThreadContext:
    """A real-looking thread: post, two earlier comments, and the comment to answer."""
    return ThreadContext(
        subreddit="learnpython",
        title="How do I read a file line by line?",
        selftext="I'm new to Python and want to read a big log file.",
        submission_author="newbie42",
        ancestors=(
            ContextComment("helper", "Use a for loop over the file object."),
            ContextComment("newbie42", "Thanks! Does that load everything at once?"),
        ),
        target_author="skeptic",
        target_body="What about memory usage with huge files?",
    )


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: takes more than 10 s (still runs in CI)")


@pytest.fixture(scope="session")
def one_torch_thread():
    """Tiny models run fastest on one thread, above all on a CPU shared with other jobs.

    Only the tests that run a model ask for it (through the model fixtures): the OpenAI
    backend's tests have nothing to do with torch."""
    import torch  # a dependency of the package: missing, it is an error, never a skip

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
