"""Fine-tuning the tiny model: the loss falls, runs resume exactly, the generator loads it."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file

from redditbot.domain import GenerationRequest, SamplingParams
from redditbot.errors import ConfigError
from redditbot.generation import build_generator
from redditbot.generation import transformers_backend as hf
from redditbot.generation.settings import ModelSettings
from redditbot.store.engine import make_engine, session_factory
from redditbot.training import train as train_module
from redditbot.training.dataset import Dataset, build_dataset
from redditbot.training.runs import TrainConfig
from tests.promise import require_module
from tests.training.conftest import SUBREDDIT

PERSONA = "You love pizza."
SETTINGS = ModelSettings(device="cpu", max_context_tokens=512)
CONFIG = TrainConfig(
    epochs=1, learning_rate=3e-3, batch_size=4, max_seq_tokens=384, device="cpu", seed=3
)


class Crash(RuntimeError):
    """Stands in for a killed process."""


@pytest.fixture
def dataset(store_url: str) -> Dataset:
    engine = make_engine(store_url)
    with session_factory(engine)() as session:
        found = build_dataset(session, SUBREDDIT, validation_fraction=0.25)
    engine.dispose()
    return found


def run(dataset, base, out: Path, config: TrainConfig = CONFIG, **kwargs):
    return train_module.train(
        SUBREDDIT, dataset=dataset, base=str(base), out_dir=out, model_settings=SETTINGS,
        persona=PERSONA, config=config, **kwargs,
    )  # fmt: skip


def weights(directory: Path) -> dict:
    return load_file(str(directory / "model.safetensors"))


@pytest.mark.parametrize("prompt_format", ["transcript", "chat"])
def test_examples_are_the_generators_prompt_then_the_reply(dataset, tiny_model_dir, prompt_format):
    settings = SETTINGS.model_copy(update={"prompt_format": prompt_format})
    loaded = hf.load_model(hf.prepare_model(settings, str(tiny_model_dir)), settings)
    pair = dataset.train[1]
    config = replace(CONFIG, prompt_format=prompt_format)
    [example], skipped = train_module.encode_pairs([pair], loaded, PERSONA, config)
    generator = hf.TransformersGenerator(loaded, settings)
    prompt = generator._prompt(GenerationRequest(key="k", context=pair.context, persona=PERSONA))
    decode = loaded.tokenizer.decode
    assert skipped == 0
    assert decode(example.input_ids[: example.prompt_tokens]) == prompt
    reply = " " + pair.reply if prompt_format == "transcript" else pair.reply
    assert decode(example.input_ids[example.prompt_tokens :]) == reply + "<|im_end|>"


def test_a_new_run_encodes_in_the_generators_prompt_format(dataset, tiny_model_dir, tmp_path):
    run(dataset, tiny_model_dir, tmp_path / "run", replace(CONFIG, max_steps=1))
    saved = json.loads((tmp_path / "run" / "training.json").read_text())["config"]
    assert saved["prompt_format"] == SETTINGS.prompt_format == "transcript"


def test_only_reply_tokens_carry_the_loss(dataset, tiny_model_dir):
    loaded = hf.load_model(hf.prepare_model(SETTINGS, str(tiny_model_dir)), SETTINGS)
    examples, _ = train_module.encode_pairs(dataset.train[:2], loaded, PERSONA, CONFIG)
    batch = train_module._batch_tensors(examples, loaded.pad_token_id, "cpu")
    for row, example in zip(batch["labels"].tolist(), examples, strict=True):
        supervised = [label for label in row if label != train_module.IGNORE]
        assert supervised == list(example.input_ids[example.prompt_tokens :])


def test_each_epoch_uses_every_example_once_in_batches_of_similar_length():
    lengths = [(i * 37) % 200 + 10 for i in range(130)]
    batches = train_module.epoch_batches(lengths, CONFIG, 0)
    assert sorted(i for batch in batches for i in batch) == list(range(130))
    assert batches == train_module.epoch_batches(lengths, CONFIG, 0)
    assert batches != train_module.epoch_batches(lengths, CONFIG, 1)
    padded = sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)
    assert padded < 1.15 * sum(lengths)  # random batches of 4 would pad about half again


def test_validation_loss_goes_down_and_the_card_says_so(dataset, tiny_model_dir, tmp_path):
    out = tmp_path / "tuned"
    result = run(dataset, tiny_model_dir, out, replace(CONFIG, epochs=4))
    assert result.steps == 4 * 7  # 26 training pairs in batches of 4, four times
    assert result.tuned.loss < result.base.loss - 1.0
    assert result.tuned.perplexity < result.base.perplexity / 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["train_pairs"] == 26 and metrics["data"]["validation_pairs"] == 8
    assert metrics["tuned"]["loss"] == pytest.approx(result.tuned.loss)
    card = (out / "README.md").read_text()
    assert f"| tuned | {result.tuned.loss:.4f} |" in card
    assert "| validation | 8 | 4 |" in card
    assert "- opted_out: 1" in card
    assert not (out / "checkpoints").exists()
    hub = ModelCard(card).data  # the Hub's own parser reads the metadata block
    assert hub.library_name == "transformers" and hub.pipeline_tag == "text-generation"
    assert hub.base_model is None  # a local directory is no Hub id
    loss = next(r for r in hub.eval_results if r.metric_type == "loss")
    assert loss.metric_value == round(result.tuned.loss, 4) and loss.dataset_split == "validation"


def test_the_generator_loads_the_tuned_model(dataset, tiny_model_dir, tmp_path):
    out = tmp_path / "tuned"
    run(dataset, tiny_model_dir, out, replace(CONFIG, max_steps=2))
    generator = build_generator(ModelSettings(name=str(out), device="cpu", max_context_tokens=512))
    request = GenerationRequest(
        key="k", context=dataset.validation[0].context, persona=PERSONA,
        params=SamplingParams(temperature=0.0, max_new_tokens=4, seed=1),
    )  # fmt: skip
    [generation] = generator.generate([request])
    assert generation.model_id == str(out.resolve())
    assert generation.candidates[0].tokens_out >= 1


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(
    dataset, tiny_model_dir, tmp_path
):
    config = replace(CONFIG, max_steps=6, checkpoint_every=2, keep_checkpoints=2)
    run(dataset, tiny_model_dir, tmp_path / "whole", config)

    def crash_after_step_5(progress):
        if progress.step == 5:
            raise Crash

    with pytest.raises(Crash):
        run(dataset, tiny_model_dir, tmp_path / "split", config, on_progress=crash_after_step_5)
    kept = sorted(p.name for p in (tmp_path / "split" / "checkpoints").iterdir())
    assert kept == ["step-00000002", "step-00000004"]
    assert not (tmp_path / "split" / "config.json").exists()  # not loadable before it is done

    steps = []
    result = run(None, tiny_model_dir, tmp_path / "split", config, resume=True,
                 on_progress=lambda progress: steps.append(progress.step))  # fmt: skip
    assert (result.resumed_from, result.steps, steps) == (4, 6, [5, 6])
    whole, split = weights(tmp_path / "whole"), weights(tmp_path / "split")
    for name, tensor in whole.items():
        torch.testing.assert_close(split[name], tensor, rtol=0, atol=1e-6)


def test_a_finished_run_keeps_no_users_text_and_cannot_be_started_or_resumed_again(
    dataset, tiny_model_dir, tmp_path
):
    out = tmp_path / "tuned"
    run(dataset, tiny_model_dir, out, replace(CONFIG, max_steps=1))
    assert not (out / "dataset.jsonl").exists()
    assert json.loads((out / "training.json").read_text())["base"] == str(tiny_model_dir.resolve())
    with pytest.raises(ConfigError, match="--resume"):
        run(dataset, tiny_model_dir, out, replace(CONFIG, max_steps=1))
    with pytest.raises(ConfigError, match="has finished"):
        run(None, tiny_model_dir, out, resume=True)


def test_a_checkpoint_of_the_hand_written_loop_is_refused_by_name(
    dataset, tiny_model_dir, tmp_path
):
    config = replace(CONFIG, max_steps=3, checkpoint_every=2)

    def crash_after_step_2(progress):
        if progress.step == 2:
            raise Crash

    with pytest.raises(Crash):
        run(dataset, tiny_model_dir, tmp_path / "run", config, on_progress=crash_after_step_2)
    old = tmp_path / "run" / "checkpoints" / "step-00000002"
    (old / "trainer_state.json").rename(old / "trainer_state.pt")  # as the old loop left it
    with pytest.raises(ConfigError, match=r"step-00000002 was written by the training loop"):
        run(None, tiny_model_dir, tmp_path / "run", config, resume=True)


def test_resuming_needs_a_run(tiny_model_dir, tmp_path):
    with pytest.raises(ConfigError, match="nothing to resume"):
        run(None, tiny_model_dir, tmp_path, resume=True)


def test_lora_lowers_the_loss_resumes_exactly_and_saves_a_plain_model(
    dataset, tiny_model_dir, tmp_path
):
    require_module("peft", "the lora extra, which `make venv` installs")
    config = replace(CONFIG, lora_rank=8, learning_rate=3e-2, max_steps=12, checkpoint_every=3)
    whole = run(dataset, tiny_model_dir, tmp_path / "whole", config)
    # Less than full fine-tuning: a random model's worst fault is in its embeddings and output
    # layer, which the adapters do not touch. The drop is 0.15 here, and the run deterministic.
    assert whole.tuned.loss < whole.base.loss - 0.1

    def crash_after_step_4(progress):
        if progress.step == 4:
            raise Crash

    with pytest.raises(Crash):
        run(dataset, tiny_model_dir, tmp_path / "split", config, on_progress=crash_after_step_4)
    checkpoint = tmp_path / "split" / "checkpoints" / "step-00000003"
    assert (checkpoint / "adapter_model.safetensors").is_file()  # adapters only
    resumed = run(None, tiny_model_dir, tmp_path / "split", config, resume=True)
    assert (resumed.resumed_from, resumed.steps) == (3, 12)
    assert resumed.tuned.loss == pytest.approx(whole.tuned.loss, abs=1e-5)
    merged = weights(tmp_path / "split")
    assert not any("lora" in name for name in merged)
    assert set(merged) == set(weights(tiny_model_dir))
    assert "LoRA of rank 8" in (tmp_path / "split" / "README.md").read_text()


def _after_one_step(loaded, examples, config: TrainConfig, out: Path):
    """The weights after the Trainer's one step over ``examples`` (micro-batches as ``config``
    says), with plain SGD at lr 1 (so the change is exactly minus the gradient the step used)."""
    model = loaded.model
    start = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    reported = []
    callbacks = [train_module.CheckpointLayout(out, 1),
                 train_module.ReportProgress(reported.append, 1, time.perf_counter)]  # fmt: skip
    config = replace(config, max_steps=1, checkpoint_every=10**6)
    trainer = train_module.build_trainer(loaded, examples, config, out, callbacks,
                                         optimizers=(optimizer, scheduler))  # fmt: skip
    trainer.train()
    delta = {name: p.detach() - start[name] for name, p in model.named_parameters()}
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(start[name])
    return reported[0].loss, delta


def test_accumulated_micro_batches_make_the_same_step_as_one_batch(
    dataset, tiny_model_dir, tmp_path
):
    loaded = hf.load_model(hf.prepare_model(SETTINGS, str(tiny_model_dir)), SETTINGS)
    examples, _ = train_module.encode_pairs(dataset.train[:4], loaded, PERSONA, CONFIG)
    one = replace(CONFIG, batch_size=4, gradient_accumulation=1, max_grad_norm=None)
    two = replace(one, batch_size=2, gradient_accumulation=2)
    [micro] = [train_module.micro_batches_for_step([len(e.input_ids) for e in examples], 0, two)]
    shares = [sum(examples[i].reply_tokens for i in batch) for batch in micro]
    assert len(micro) == 2 and shares[0] != shares[1]  # a mean of batch means would differ
    whole_loss, whole = _after_one_step(loaded, examples, one, tmp_path / "one")
    split_loss, split = _after_one_step(loaded, examples, two, tmp_path / "two")
    assert split_loss == pytest.approx(whole_loss, rel=1e-5)
    for name in whole:
        torch.testing.assert_close(split[name], whole[name], rtol=1e-4, atol=1e-6)
    _, clipped = _after_one_step(loaded, examples, replace(one, max_grad_norm=0.01),
                                 tmp_path / "clipped")  # fmt: skip
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(d) for d in
                                                 clipped.values()]))  # fmt: skip
    unclipped = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(d) for d in
                                                      whole.values()]))  # fmt: skip
    assert unclipped > 0.05 and norm == pytest.approx(0.01, rel=1e-3)


def test_the_trainer_feeds_each_step_its_batches_also_when_resumed(
    dataset, tiny_model_dir, tmp_path
):
    """Step N trains on ``micro_batches_for_step(N)``, across epochs and after a resume from the
    checkpoint that the step reporting the crash had already saved."""
    config = replace(CONFIG, gradient_accumulation=3, max_steps=7, checkpoint_every=2)
    seen: list[tuple[int, ...]] = []  # the first row of every training forward pass

    def record(module, args, kwargs):
        if module.training:
            seen.append(tuple(kwargs["input_ids"][0].tolist()))

    def crash_at_step_4(progress):
        if progress.step == 4:
            raise Crash

    def expected(steps, examples):
        lengths = [len(e.input_ids) for e in examples]
        batches = [train_module.micro_batches_for_step(lengths, step, config) for step in steps]
        return [examples[micro[0]].input_ids for step in batches for micro in step]

    def unpadded(rows, wanted):
        assert len(rows) == len(wanted), (len(rows), len(wanted))
        return [row[: len(want)] for row, want in zip(rows, wanted, strict=True)]

    original = train_module._load

    def load_and_record(*args, **kwargs):
        loaded = original(*args, **kwargs)
        loaded.model.register_forward_pre_hook(record, with_kwargs=True)
        return loaded

    loaded = hf.load_model(hf.prepare_model(SETTINGS, str(tiny_model_dir)), SETTINGS)
    settings_config = replace(config, prompt_format=SETTINGS.prompt_format)
    examples, _ = train_module.encode_pairs(dataset.train, loaded, PERSONA, settings_config)
    assert train_module.steps_per_epoch(len(examples), config) == 3  # 7 steps: 3 epochs
    train_module._load = load_and_record
    try:
        with pytest.raises(Crash):
            run(dataset, tiny_model_dir, tmp_path / "run", config, on_progress=crash_at_step_4)
        assert (tmp_path / "run" / "checkpoints" / "step-00000004").is_dir()
        assert unpadded(seen, expected(range(4), examples)) == expected(range(4), examples)
        seen.clear()
        run(None, tiny_model_dir, tmp_path / "run", config, resume=True)
    finally:
        train_module._load = original
    assert unpadded(seen, expected(range(4, 7), examples)) == expected(range(4, 7), examples)


def test_accumulation_keeps_epochs_whole_and_resume_exact():
    lengths = [(i * 37) % 200 + 10 for i in range(26)]  # 7 micro-batches of 4 an epoch
    config = replace(CONFIG, gradient_accumulation=3)
    assert train_module.steps_per_epoch(26, config) == 3 and train_module.total_steps_for(
        26, replace(config, epochs=2)) == 6  # fmt: skip
    epoch = [train_module.micro_batches_for_step(lengths, step, config) for step in range(3)]
    assert [len(micro) for micro in epoch] == [3, 3, 1]
    assert sorted(i for micro in epoch for batch in micro for i in batch) == list(range(26))
    assert (
        train_module.micro_batches_for_step(lengths, 4, config)
        == (train_module.epoch_batches(lengths, config, 1)[3:6])
    )  # a function of the step alone


def test_checkpoints_rotate_and_the_last_step_saves_the_model_not_a_checkpoint(
    dataset, tiny_model_dir, tmp_path
):
    """The newest ``keep_checkpoints`` stay; a checkpoint of the last step (the optimizer
    state is twice the model) would only be deleted again with the run's resume files."""
    out = tmp_path / "run"
    seen = {}

    def look(progress):
        seen[progress.step] = sorted(p.name for p in (out / "checkpoints").glob("*"))

    config = replace(CONFIG, max_steps=10, checkpoint_every=3, keep_checkpoints=2)
    run(dataset, tiny_model_dir, out, config, on_progress=look)
    three, six, nine = (f"step-{step:08d}" for step in (3, 6, 9))
    assert seen == {1: [], 2: [], 3: [three], 4: [three], 5: [three], 6: [three, six],
                    7: [three, six], 8: [three, six], 9: [six, nine], 10: [six, nine]}  # fmt: skip
