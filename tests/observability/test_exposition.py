"""The hand-written exposition format against prometheus_client's parser."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from redditbot.observability.exposition import Sample, family, format_value, labelled, render


def test_label_values_are_escaped() -> None:
    awkward = 'say "hi"\\ now\nplease'
    text = render([labelled("x_total", "counter", "Help.", "reason", {awkward: 2})])

    (metric,) = text_string_to_metric_families(text)
    assert metric.samples[0].labels == {"reason": awkward}
    assert metric.samples[0].value == 2


def test_help_type_and_samples() -> None:
    text = render([family("redditbot_up", "gauge", "Up.\nReally.", [Sample(1)])])

    assert text == "# HELP redditbot_up Up.\\nReally.\n# TYPE redditbot_up gauge\nredditbot_up 1\n"


def test_values() -> None:
    assert format_value(3.0) == "3"
    assert format_value(0.25) == "0.25"
    assert format_value(math.inf) == "+Inf"
    assert format_value(math.nan) == "NaN"
    assert format_value(1.7e300) == "1.7e+300"


def test_histogram_suffixes_parse_as_one_family() -> None:
    samples = [
        Sample(1, {"le": "0.5"}, "_bucket"),
        Sample(2, {"le": "+Inf"}, "_bucket"),
        Sample(1.5, suffix="_sum"),
        Sample(2, suffix="_count"),
    ]
    (metric,) = text_string_to_metric_families(render([family("lat", "histogram", "L.", samples)]))

    assert metric.type == "histogram"
    assert [(s.name, s.value) for s in metric.samples] == [
        ("lat_bucket", 1), ("lat_bucket", 2), ("lat_sum", 1.5), ("lat_count", 2),
    ]  # fmt: skip
