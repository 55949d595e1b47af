"""deploy/grafana/redditbot.json: importable JSON whose queries parse and name real metrics."""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy.conftest import DEPLOY
from tests.promise import require_module

DASHBOARD = DEPLOY / "grafana" / "redditbot.json"
# The names /metrics exposes (redditbot/observability); histogram series add _bucket/_sum/_count.
METRICS = {
    "redditbot_items_stored",
    "redditbot_jobs",
    "redditbot_replies_posted_total",
    "redditbot_moderation_decisions_total",
    "redditbot_generation_latency_seconds",
    "redditbot_reddit_errors_total",
    "redditbot_oldest_queued_job_age_seconds",
    "redditbot_last_poll_timestamp_seconds",
    "redditbot_stage_failures_total",
    "redditbot_up",
}
# What the issue asks the dashboard to show, and a metric that shows it.
REQUIRED = {
    "replies per hour": "redditbot_replies_posted_total",
    "moderation decisions by reason": "redditbot_moderation_decisions_total",
    "queue age": "redditbot_oldest_queued_job_age_seconds",
    "generation latency": "redditbot_generation_latency_seconds_bucket",
    "api errors": "redditbot_reddit_errors_total",
}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def expressions(dashboard: dict) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bredditbot_[a-z_]+", expr))


def base_name(series: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", series)


def test_importable_shape(dashboard) -> None:
    assert dashboard["uid"] == "redditbot-overview" and dashboard["title"] == "redditbot"
    assert dashboard["id"] is None  # import creates a new dashboard instead of clashing
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variable = dashboard["templating"]["list"][0]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource", "datasource", "prometheus",
    )  # fmt: skip
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert [t["refId"] for t in panel["targets"]] == [
            chr(65 + i) for i in range(len(panel["targets"]))
        ]


def test_panels_do_not_overlap(dashboard) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        mine = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & mine, f"panel {panel['title']!r} overlaps another"
        cells |= mine


def test_every_query_names_only_real_metrics(dashboard, exposed_metrics) -> None:
    """Names as a real scrape of the registry serves them (not as some source file spells them)."""
    used = {name for expr in expressions(dashboard) for name in metric_names(expr)}
    assert used <= exposed_metrics, used - exposed_metrics
    assert {base_name(name) for name in used} <= METRICS, "METRICS lists what the panels use"


def test_what_the_issue_asks_for_is_on_it(dashboard) -> None:
    for what, metric in REQUIRED.items():
        panels = [p["title"] for p in dashboard["panels"]
                  if any(metric in t["expr"] for t in p["targets"])]  # fmt: skip
        assert panels, f"no panel shows {what}"


def test_store_metrics_are_not_summed_across_instances(dashboard) -> None:
    """Every instance reports the same store-wide value: sum() would multiply it."""
    in_process = {"redditbot_stage_failures_total", "redditbot_up"}
    for expr in expressions(dashboard):
        if not metric_names(expr) & in_process:
            assert not re.search(r"\bsum\b", expr), expr


def test_promql_parses() -> None:
    promql_parser = require_module("promql_parser", "the dev extra")
    for expr in expressions(json.loads(DASHBOARD.read_text())):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        promql_parser.parse(expr)
    with pytest.raises(ValueError):
        promql_parser.parse("max(rate(redditbot_up[5m])")
