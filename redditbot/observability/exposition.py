"""``/metrics`` through prometheus_client: one registry per server, read at scrape time.

Nothing here counts anything itself. The store's rows and the scheduler's counters already hold
the numbers, so two custom collectors read them when Prometheus scrapes:

- ``ProcessStateCollector``: this process's stage counters, liveness, readiness, draining;
- ``StoreCollector`` (``store_metrics.py``): figures counted in the shared store. They are the
  same on every instance, so only instances with ``[observability] store_metrics = true`` serve
  them (in deploy/ the daemon does, workers do not), and dashboards and alerts take ``max()``.

prometheus_client adds ``process_*`` (CPU, memory, file descriptors), ``python_info``,
``python_gc_*`` and ``redditbot_build_info``, and writes the exposition format.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from redditbot import __version__

# generate_latest writes the classic text format; every Prometheus since 2.0 reads it.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def build_registry(*collectors: Collector) -> CollectorRegistry:
    """A registry of the standard process collectors, the build info and ``collectors``."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(BuildInfoCollector())
    for collector in collectors:
        registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> str:
    """The exposition text of everything in ``registry`` (collectors' errors propagate)."""
    return generate_latest(registry).decode()


class BuildInfoCollector(Collector):
    """``redditbot_build_info{version, python} 1``: which release each instance runs."""

    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily("redditbot_build", "The redditbot release this process runs.")
        info.add_metric([], {"version": __version__, "python": platform.python_version()})
        yield info


class ProcessStateCollector(Collector):
    """This process's view from a ``HealthSource``: stage counters and three flags."""

    def __init__(self, source) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        stats = self.source.stage_stats()
        ready, _ = self.source.ready()
        yield _stage_counter(stats, "runs", "redditbot_stage_runs", "Stage runs started")
        yield _stage_counter(stats, "failures", "redditbot_stage_failures", "Stage runs failed")
        yield _stage_counter(stats, "handled", "redditbot_stage_handled", "Items stages handled")
        yield flag("redditbot_up", "1 while the main loop is alive.", self.source.alive())
        yield flag("redditbot_ready", "1 while the bot can take work.", ready)
        yield flag("redditbot_draining", "1 while the bot is shutting down.", self.source.draining)


def _stage_counter(stats: Mapping[str, Mapping[str, int]], key: str, name: str, help_: str):
    values = {stage: counters.get(key, 0) for stage, counters in stats.items()}
    return labelled(CounterMetricFamily, name, f"{help_} (this process).", "stage", values)


def flag(name: str, help_: str, value: bool) -> GaugeMetricFamily:
    """A 0/1 gauge."""
    return GaugeMetricFamily(name, help_, value=1 if value else 0)


def labelled(
    kind: Callable[..., Metric], name: str, help_: str, label: str, values: Mapping[str, float]
) -> Metric:
    """A family of ``kind`` with one sample per key of ``values``, the key under ``label``."""
    metric = kind(name, help_, labels=[label])
    for key, value in sorted(values.items()):
        metric.add_metric([key], value)
    return metric
