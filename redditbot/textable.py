"""Plain-text tables for the terminal (``redditbot history``, ``redditbot sql``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def cell(value: Any, width: int | None = None) -> str:
    """One value as a single line of text, cut to ``width`` characters with an ellipsis."""
    text = "NULL" if value is None else " ".join(str(value).split())
    if width is not None and len(text) > width:
        return text[: max(width - 1, 0)] + "…"
    return text


def format_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int | None = 60
) -> str:
    """Columns padded to their widest cell, a rule under the header, and a row count."""
    cells = [[cell(value, max_width) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    lines = [_line(columns, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(row, widths) for row in cells]
    count = len(rows)
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    return "\n".join(lines)


def _line(values: Sequence[str], widths: Sequence[int]) -> str:
    return " | ".join(value.ljust(width) for value, width in zip(values, widths)).rstrip()
