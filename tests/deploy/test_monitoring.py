"""deploy/k8s/monitoring: the ServiceMonitor finds the metrics Service; the alert rules parse,
name metrics /metrics really serves, and cover what an operator must be woken for.

promtool-style checks without promtool: the PrometheusRule's spec is a Prometheus rules file,
checked for its shape, unique names, valid durations and PromQL that parses (promql-parser).
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.conftest import DEPLOY
from tests.deploy.test_k8s import container, load_manifests
from tests.promise import require_module

MONITORING = DEPLOY / "k8s" / "monitoring"
# What the issue asks alerts for, and the series that shows it.
REQUIRED = {
    "not ready": "redditbot_ready",
    "posting errors": "redditbot_stage_failures_total",
    "403 pauses": "redditbot_paused_subreddits",
    "rate-limit waits": "redditbot_rate_limited_jobs",
    "queue age": "redditbot_oldest_queued_job_age_seconds",
}
PER_PROCESS = {"redditbot_up", "redditbot_ready", "redditbot_draining",
               "redditbot_stage_failures_total", "redditbot_stage_runs_total"}  # fmt: skip


def load(name: str) -> dict:
    return yaml.safe_load((MONITORING / name).read_text())


@pytest.fixture(scope="module")
def promql_parser():
    return require_module("promql_parser", "the dev extra")


@pytest.fixture(scope="module")
def rules() -> list[dict]:
    spec = load("prometheusrule.yaml")["spec"]
    return [rule for group in spec["groups"] for rule in group["rules"]]


def test_kustomization_lists_both_resources() -> None:
    kustomization = load("kustomization.yaml")
    files = {p.name for p in MONITORING.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert kustomization["namespace"] == "redditbot"


def test_service_monitor_selects_the_metrics_service() -> None:
    monitor = load("servicemonitor.yaml")
    service = yaml.safe_load((DEPLOY / "k8s" / "service.yaml").read_text())
    assert monitor["kind"] == "ServiceMonitor"
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selected = monitor["spec"]["selector"]["matchLabels"]
    assert selected.items() <= service["metadata"]["labels"].items()
    ports = {port["name"] for port in service["spec"]["ports"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == ["redditbot"]


def test_rules_file_shape_like_promtool_check_rules(promql_parser) -> None:
    document = load("prometheusrule.yaml")
    assert (document["apiVersion"], document["kind"]) == ("monitoring.coreos.com/v1",
                                                          "PrometheusRule")  # fmt: skip
    groups = document["spec"]["groups"]
    assert len({g["name"] for g in groups}) == len(groups)
    for group in groups:
        assert set(group) <= {"name", "interval", "rules"}
        names = [rule["alert"] for rule in group["rules"]]
        assert len(set(names)) == len(names)
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
            promql_parser.parse_duration(rule["for"])
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            assert all(
                isinstance(v, str) for v in {**rule["labels"], **rule["annotations"]}.values()
            )


def test_every_expression_parses(rules, promql_parser) -> None:
    for rule in rules:
        promql_parser.parse(rule["expr"])
    with pytest.raises(ValueError):
        promql_parser.parse("max(redditbot_rate_limited_jobs > 0")


def test_rules_name_only_served_metrics(rules, exposed_metrics) -> None:
    for rule in rules:
        used = set(re.findall(r"\bredditbot_[a-z_]+", rule["expr"]))
        assert used and used <= exposed_metrics, (rule["alert"], used - exposed_metrics)


def test_what_the_issue_asks_for_is_alerted_on(rules) -> None:
    for what, metric in REQUIRED.items():
        assert any(metric in rule["expr"] for rule in rules), f"no alert on {what}"


def test_store_wide_series_are_never_summed(rules) -> None:
    """Several pods may serve a store figure: sum() would count it once per pod."""
    for rule in rules:
        for term in re.split(r"\b(?:or|and|unless)\b", rule["expr"]):
            store_wide = set(re.findall(r"\bredditbot_[a-z_]+", term)) - PER_PROCESS
            if store_wide:
                assert not re.search(r"\bsum\b", term), (rule["alert"], term)
                assert re.search(r"\bmax\b", term), (rule["alert"], term)


def test_workers_do_not_serve_the_store_figures() -> None:
    """Only the daemon pod serves them: the rules' max() then sees one value, not N."""
    manifests = load_manifests()

    def env(name: str) -> dict[str, str]:
        pod = container(manifests[("Deployment", name)])
        return {e["name"]: e.get("value") for e in pod.get("env", [])}

    assert env("redditbot-worker")["REDDITBOT_OBSERVABILITY__STORE_METRICS"] == "false"
    assert env("redditbot-daemon").get("REDDITBOT_OBSERVABILITY__STORE_METRICS", "true") == "true"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert (
        compose["services"]["worker"]["environment"]["REDDITBOT_OBSERVABILITY__STORE_METRICS"]
        == "false"
    )
    assert "REDDITBOT_OBSERVABILITY__ENABLED" in compose["services"]["worker"]["environment"]
