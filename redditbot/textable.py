"""What listing commands print: plain-text tables for a person, ``--json`` for a script."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``: one JSON document on stdout (and nothing else there) instead of a table."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of a table"
    )


def to_json(document: Any) -> str:
    """``document`` as JSON; datetimes in ISO 8601 (the store keeps UTC), whole values."""
    return json.dumps(document, indent=2, ensure_ascii=False, default=_json_value)


def records(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows as objects keyed by column name."""
    return [dict(zip(columns, row)) for row in rows]


def render_rows(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, as_json: bool, max_width: int = 60
) -> str:
    """A JSON array of row objects, or the table (cells cut to ``max_width``)."""
    return to_json(records(columns, rows)) if as_json else format_table(columns, rows, max_width)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)  # Decimal, Path, UUID: their text form


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
