"""Progress of long commands (``model pull``, ``train``): a bar on a terminal, lines otherwise.

On a terminal the bar is tqdm's (training) or pip's own (the model download); in a log file, a
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
            self._bar = tqdm(total=progress.total_steps, initial=progress.step - 1, unit="step",
                             desc="training", file=self.stream, dynamic_ncols=True)  # fmt: skip
        self._bar.set_postfix(
            epoch=progress.epoch, loss=f"{progress.loss:.4f}", lr=f"{progress.learning_rate:.1e}",
            tok_s=f"{progress.tokens_per_s:.0f}", refresh=False,
        )  # fmt: skip
        self._bar.update(progress.step - self._bar.n)
        if progress.step >= progress.total_steps:
            self.close()

    def close(self) -> None:
        """End the bar (its line stays on the screen)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
