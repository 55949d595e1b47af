"""The registry behind /metrics: prometheus_client's standard families, and naming rules."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from redditbot import __version__
from redditbot.observability.exposition import ProcessStateCollector, build_registry, render
from redditbot.observability.store_metrics import StoreCollector
from tests.observability.conftest import NOW, FakeHealth


def families(sessions=None, health: FakeHealth | None = None) -> dict:
    health = health or FakeHealth(stats={"listen": {"runs": 2, "failures": 1, "handled": 5}})
    store = [StoreCollector(sessions, lambda: NOW)] if sessions else []
    text = render(build_registry(ProcessStateCollector(health), *store))
    return {metric.name: metric for metric in text_string_to_metric_families(text)}


def test_process_metrics_and_build_info_are_there() -> None:
    found = families()
    for name in ("process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds",
                 "process_start_time_seconds", "python_info"):  # fmt: skip
        assert name in found, sorted(found)
    (sample,) = found["redditbot_build_info"].samples
    assert sample.name == "redditbot_build_info" and sample.value == 1
    assert sample.labels["version"] == __version__


def test_counters_end_in_total_and_gauges_are_not_named_like_counters(sqlite_sessions) -> None:
    found = families(sqlite_sessions)
    redditbot = {name: m for name, m in found.items() if name.startswith("redditbot_")}
    assert {"redditbot_jobs", "redditbot_stage_runs", "redditbot_replies_posted"} <= set(redditbot)
    for metric in redditbot.values():
        names = {sample.name for sample in metric.samples}
        if metric.type == "counter":
            assert all(n.endswith(("_total", "_created")) for n in names), metric
        else:
            assert not any(n.endswith("_total") for n in names), metric
            assert not metric.name.endswith(("_seen", "_count")), (
                f"{metric.name} reads as a counter"
            )


def test_a_source_is_read_at_every_scrape() -> None:
    health = FakeHealth(stats={"post": {"runs": 1, "failures": 0, "handled": 0}})
    registry = build_registry(ProcessStateCollector(health))
    health.stats["post"]["runs"] = 9
    (metric,) = [m for m in text_string_to_metric_families(render(registry))
                 if m.name == "redditbot_stage_runs"]  # fmt: skip
    assert metric.samples[0].value == 9
