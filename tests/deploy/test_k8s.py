"""deploy/k8s: the manifests against Kubernetes' schemas (offline), and against each other."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from redditbot.app import STAGE_ORDER, expand_stages
from redditbot.cli.daemon import run_daemon
from redditbot.config import load_settings
from redditbot.errors import ConfigError
from tests.deploy.conftest import (
    DEPLOY,
    parse_redditbot_command,
    settings_from_environment,
    settings_variables,
)
from tests.promise import require_module

K8S = DEPLOY / "k8s"
GUIDE = DEPLOY.parent / "docs" / "operators-guide.md"
KUBERNETES_VERSION = "1.30.0"


def load_manifests() -> dict[tuple[str, str], dict]:
    documents = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                documents[(doc["kind"], doc["metadata"]["name"])] = doc
    return documents


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict]:
    return load_manifests()


def container(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]["containers"][0]


def deployments(manifests) -> dict[str, dict]:
    return {name: doc for (kind, name), doc in manifests.items() if kind == "Deployment"}


def test_every_resource_is_there(manifests) -> None:
    assert set(manifests) == {
        ("Namespace", "redditbot"),
        ("ConfigMap", "redditbot-config"),
        ("Deployment", "redditbot-daemon"),
        ("Deployment", "redditbot-worker"),
        ("Service", "redditbot-metrics"),
        ("PodDisruptionBudget", "redditbot-worker"),
    }


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_schemas_of_kubernetes(manifests) -> None:
    kubernetes_validate = require_module("kubernetes_validate", "the dev extra")
    for doc in manifests.values():
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    broken = dict(manifests[("PodDisruptionBudget", "redditbot-worker")])
    broken["spec"] = {**broken["spec"], "maxUnavailables": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kubectl_kustomize_builds() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; kustomization checked by parsing only")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    built = list(yaml.safe_load_all(result.stdout))
    assert len(built) == len(load_manifests())
    assert {doc["metadata"].get("namespace") for doc in built if doc["kind"] != "Namespace"} == {
        "redditbot"
    }


def test_probes_on_healthz_and_readyz(manifests) -> None:
    for doc in deployments(manifests).values():
        c = container(doc)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"metrics": 9108}
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_selectors_match_their_pods(manifests) -> None:
    pods = {name: doc["spec"]["template"]["metadata"]["labels"] for name, doc in
            deployments(manifests).items()}  # fmt: skip
    for name, doc in deployments(manifests).items():
        assert doc["spec"]["selector"]["matchLabels"].items() <= pods[name].items()
    pdb = manifests[("PodDisruptionBudget", "redditbot-worker")]["spec"]["selector"]["matchLabels"]
    assert [n for n, labels in pods.items() if pdb.items() <= labels.items()] == [
        "redditbot-worker"
    ]
    service = manifests[("Service", "redditbot-metrics")]["spec"]["selector"]
    assert all(service.items() <= labels.items() for labels in pods.values())


def test_one_daemon_and_scalable_workers(manifests) -> None:
    daemon = manifests[("Deployment", "redditbot-daemon")]
    worker = manifests[("Deployment", "redditbot-worker")]
    assert daemon["spec"]["replicas"] == 1
    assert daemon["spec"]["strategy"] == {"type": "Recreate"}  # never two pollers at once
    assert worker["spec"]["replicas"] >= 2
    stages = [container(d)["args"][container(d)["args"].index("--stages") + 1].split(",")
              for d in (daemon, worker)]  # fmt: skip
    assert sorted(expand_stages(stages[0]) + expand_stages(stages[1])) == sorted(STAGE_ORDER)


def test_container_args_parse_with_the_real_cli(manifests) -> None:
    for doc in deployments(manifests).values():
        args = parse_redditbot_command(container(doc)["args"])
        assert args.handler is run_daemon
        assert doc["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > args.grace + 10
    for doc in deployments(manifests).values():
        (init,) = doc["spec"]["template"]["spec"]["initContainers"]
        assert parse_redditbot_command(init["args"]).db_command == "upgrade"


def test_migrations_run_before_each_pod_starts(manifests) -> None:
    """An init container migrates (the bot refuses a schema that is behind): no crash loop
    while someone runs a Job, and no Job to delete and re-apply on every release."""
    for doc in deployments(manifests).values():
        pod = doc["spec"]["template"]["spec"]
        (init,) = pod["initContainers"]
        assert init["image"] == container(doc)["image"]
        assert init["env"] == [e for e in container(doc)["env"] if e["name"] in
                               {"REDDITBOT_CONFIG", "REDDITBOT_DATABASE__URL"}]  # fmt: skip
        mounts = {m["mountPath"] for m in init["volumeMounts"]}
        assert "/etc/redditbot/bot.toml" in mounts
    assert not [kind for kind, _ in manifests if kind == "Job"]


def test_images_are_tagged_with_the_package_version() -> None:
    from redditbot import __version__

    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    (image,) = kustomization["images"]
    assert image["name"] == "redditbot" and image["newTag"] == __version__
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["daemon"]["image"].endswith(f"redditbot:{__version__}}}")
    assert "latest" not in (K8S / "kustomization.yaml").read_text().split("images:")[1]


def documented_secret() -> dict[str, str]:
    """The Secret as the guide says to create it: `kubectl create secret generic NAME
    --from-file=KEY=… --from-literal=KEY=…` (no Secret is committed, not even placeholders)."""
    text = GUIDE.read_text().replace("\\\n", " ")
    command = next(line for line in text.splitlines() if "kubectl" in line and "create secret" in
                   line)  # fmt: skip
    argv = shlex.split(command, comments=True)
    keys = {arg.split("=", 2)[1]: arg for arg in argv if arg.startswith("--from-")}
    return {"name": argv[argv.index("generic") + 1], **{key: key for key in keys}}


def test_no_secret_is_committed_and_the_documented_one_has_every_key(manifests) -> None:
    assert not [name for kind, name in manifests if kind == "Secret"]
    secret = documented_secret()
    assert secret["name"] == "redditbot-secrets"
    assert {"secrets.toml", "database-url"} <= set(secret)


def test_pods_run_locked_down_as_the_image_user(manifests) -> None:
    uid = int(re.search(r"^USER (\d+):", (DEPLOY / "Dockerfile").read_text(), re.M)[1])
    for doc in deployments(manifests).values():
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        for each in [*pod["containers"], *pod["initContainers"]]:
            sc = each["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]


def test_references_resolve(manifests) -> None:
    secret = documented_secret()
    config = manifests[("ConfigMap", "redditbot-config")]["data"]
    for doc in deployments(manifests).values():
        pod = doc["spec"]["template"]["spec"]
        for env in [e for c in (*pod["containers"], *pod["initContainers"]) for e in c["env"]]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["name"] and ref["key"] in secret
        for volume in pod["volumes"]:
            if "configMap" in volume:
                assert volume["configMap"]["name"] == "redditbot-config"
            if "secret" in volume:
                assert {item["key"] for item in volume["secret"]["items"]} <= set(secret)
        mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
        assert mounts["/etc/redditbot/bot.toml"]["subPath"] in config


def test_configmap_is_a_valid_configuration_that_needs_the_secret(manifests, tmp_path) -> None:
    """bot.toml loads with the real settings loader; without the Secret's credentials the bot
    refuses to start (so the ConfigMap carries none)."""
    config = tmp_path / "bot.toml"
    config.write_text(manifests[("ConfigMap", "redditbot-config")]["data"]["bot.toml"])
    settings = load_settings(config)
    assert settings.dry_run is True
    with pytest.raises(ConfigError):
        settings.require_reddit_credentials()


def test_environment_names_are_real_settings(manifests, monkeypatch) -> None:
    env = {e["name"]: e["value"] for e in container(
        manifests[("Deployment", "redditbot-worker")])["env"] if "value" in e}  # fmt: skip
    settings = settings_from_environment(settings_variables(env), monkeypatch)
    assert settings.observability.port == 9108
