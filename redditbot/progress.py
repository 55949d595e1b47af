"""Progress of long commands (``model pull``, ``train``): a bar on a terminal, lines otherwise.

On a terminal the bar is tqdm's (training, a model's conversion) or pip's own (the model
download); in a log file, a
pipe or CI, where a bar is a mess of carriage returns, the same progress is plain lines.
"""

from __future__ import annotations

from typing import Any, TextIO


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal (a bar can redraw itself there)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class TrainingBar:
    """A training progress callback drawing one tqdm bar: steps, with loss, lr and speed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._bar: Any = None

    def __call__(self, progress: Any) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(
                total=progress.total_steps,
                initial=progress.step - 1,
                unit="step",
                desc="training",
                file=self.stream,
                dynamic_ncols=True,
            )
        self._bar.set_postfix(
            epoch=progress.epoch,
            loss=f"{progress.loss:.4f}",
            lr=f"{progress.learning_rate:.1e}",
            tok_s=f"{progress.tokens_per_s:.0f}",
            refresh=False,
        )
        self._bar.update(progress.step - self._bar.n)
        if progress.step >= progress.total_steps:
            self.close()

    def close(self) -> None:
        """End the bar (its line stays on the screen)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class StageBar:
    """Progress through the named stages of one long step (a model's conversion).

    On a terminal (``stream`` given) one tqdm bar over the stages, with the stage's name and,
    for a counted stage, how far it is; elsewhere a line through ``say`` for each stage and
    for each quarter of a counted one.
    """

    def __init__(self, title: str, stages: int, say: Any, stream: TextIO | None = None) -> None:
        self.title, self.stages, self.say, self.stream = title, stages, say, stream
        self.done, self.name = 0, ""
        self._bar: Any = None
        self._quarter = 0

    def start(self, name: str) -> None:
        """Begin the next stage (the one before it is done)."""
        if self.name:
            self._advance()
        self.name, self._quarter = name, 0
        if self.stream is None:
            self.say(f"{self.title}: {self.done + 1}/{self.stages} {name}")
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.stages,
                unit="stage",
                desc=self.title,
                file=self.stream,
                dynamic_ncols=True,
            )
        self._bar.set_postfix_str(name)

    def count(self, done: int, total: int) -> None:
        """How far the current stage is: ``done`` of its ``total`` items."""
        if self.stream is not None:
            if self._bar is not None:
                self._bar.set_postfix_str(f"{self.name} {done}/{total}")
            return
        quarter = 4 * done // max(total, 1)
        if quarter > self._quarter:
            self._quarter = quarter
            self.say(f"{self.title}: {self.name} {done}/{total}")

    def _advance(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        """The last stage is done: the bar ends (its line stays on the screen)."""
        if self.name:
            self._advance()
            self.name = ""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> StageBar:
        return self

    def __exit__(self, error_type: object, *rest: object) -> None:
        if error_type is None:
            self.close()
        elif self._bar is not None:
            self._bar.close()  # on an error too: the terminal gets its line back
            self._bar = None
