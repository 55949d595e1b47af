"""The Prometheus text exposition format (version 0.0.4), written by hand: it is a few lines.

A ``MetricFamily`` is one ``# HELP`` / ``# TYPE`` block and its samples; ``render`` joins them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Sample:
    """One line: ``name{labels} value``; ``suffix`` is e.g. ``_bucket`` for histograms."""

    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    suffix: str = ""


@dataclass(frozen=True)
class MetricFamily:
    """A named metric of one type (counter, gauge or histogram) with its samples."""

    name: str
    type: str
    help: str
    samples: tuple[Sample, ...]


def family(name: str, type_: str, help_: str, samples: Iterable[Sample]) -> MetricFamily:
    """A ``MetricFamily`` from any iterable of samples."""
    return MetricFamily(name, type_, help_, tuple(samples))


def labelled(name: str, type_: str, help_: str, label: str, values: Mapping[str, float]):
    """A family with one sample per key of ``values``, the key under ``label``."""
    samples = (Sample(value, {label: key}) for key, value in sorted(values.items()))
    return family(name, type_, help_, samples)


def render(families: Iterable[MetricFamily]) -> str:
    """The exposition text of ``families``, ending with a newline."""
    lines: list[str] = []
    for metric in families:
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.type}")
        lines.extend(_sample_line(metric.name, sample) for sample in metric.samples)
    return "\n".join(lines) + "\n"


def _sample_line(name: str, sample: Sample) -> str:
    labels = ",".join(f'{key}="{_escape_label(str(v))}"' for key, v in sample.labels.items())
    braces = f"{{{labels}}}" if labels else ""
    return f"{name}{sample.suffix}{braces} {format_value(sample.value)}"


def format_value(value: float) -> str:
    """Integers without a decimal point, infinities and NaN as Prometheus spells them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
