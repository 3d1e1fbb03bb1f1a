"""deploy/kubernetes renders with kustomize, passes the Kubernetes API schemas offline
(kubernetes-validate ships them), and agrees with the settings, the commands, the broker
topology and the shutdown the server implements."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from media_grpc.adapters.rabbitmq_topology import Topology
from media_grpc.cli import build_parser
from media_grpc.config import Settings
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.config.pipeline import PipelineSettings
from media_grpc.domain.model import JobKind
from tests.unit.kubernetes_manifests import (
    KUBERNETES,
    KUSTOMIZATIONS,
    SECRET_NAME,
    SECRET_VALUES,
    containers,
    environment,
    find,
    flag,
    pod_labels,
    pod_spec,
    render,
)
from tests.unit.test_deployment_files import is_setting

#: Kinds that are no part of the Kubernetes API: KEDA's, checked against its CRD's fields below.
KEDA_KINDS = ("ScaledObject", "TriggerAuthentication")
#: Fields of KEDA's v1alpha1 ScaledObject spec and trigger items (its CRD, keda.sh_scaledobjects).
SCALED_OBJECT_FIELDS = {
    "scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
    "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers",
}  # fmt: skip
TRIGGER_FIELDS = {"type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"}
#: Trigger metadata the rabbitmq scaler reads (KEDA 2.x pkg/scalers/rabbitmq_scaler.go).
RABBITMQ_METADATA = {
    "host", "hostFromEnv", "protocol", "mode", "value", "activationValue", "queueName",
    "vhostName", "useRegex", "excludeUnacknowledged", "pageSize", "operation", "timeout",
    "unsafeSsl", "usernameFromEnv", "passwordFromEnv",
}  # fmt: skip
#: Parameters a TriggerAuthentication may fill for the rabbitmq scaler.
RABBITMQ_AUTH_PARAMETERS = {
    "host",
    "username",
    "password",
    "ca",
    "cert",
    "key",
    "keyPassword",
    "tls",
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: render(KUBERNETES / name) for name in KUSTOMIZATIONS}


@pytest.fixture(scope="module")
def production(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return rendered["overlays/production"]


def test_every_kustomization_passes_the_kubernetes_api_schemas_strictly(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    checked = set()
    for name, resources in rendered.items():
        for resource in resources:
            if resource["kind"] in KEDA_KINDS:
                continue
            kubernetes_validate.validate(resource, "1.33", strict=True)
            kubernetes_validate.validate(resource, kubernetes_validate.latest_version(), True)
            checked.add((name, resource["kind"]))
    kinds = {kind for _, kind in checked}
    assert {
        "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
        "NetworkPolicy", "CronJob", "Job", "ConfigMap", "Namespace",
    } <= kinds  # fmt: skip


def test_the_validator_refuses_a_field_the_api_does_not_have(
    production: list[dict[str, Any]],
) -> None:
    deployment = find(production, "Deployment", "media-server")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.33", strict=True)


def test_keda_resources_use_only_fields_of_the_keda_crds(production: list[dict[str, Any]]) -> None:
    scaled = find(production, "ScaledObject", "media-worker")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert set(scaled["spec"]) <= SCALED_OBJECT_FIELDS
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "media-worker",
    }
    find(production, "Deployment", "media-worker")
    assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
    # advanced.horizontalPodAutoscalerConfig.behavior is the HPA's own type: validate it as one.
    behavior = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    hpa = find(production, "HorizontalPodAutoscaler", "media-server")
    kubernetes_validate.validate(
        {**hpa, "spec": {**hpa["spec"], "behavior": behavior}}, "1.33", strict=True
    )
    auth_names = {r["metadata"]["name"] for r in production if r["kind"] == KEDA_KINDS[1]}
    for trigger in scaled["spec"]["triggers"]:
        assert set(trigger) <= TRIGGER_FIELDS and trigger["type"] == "rabbitmq"
        metadata = trigger["metadata"]
        assert set(metadata) <= RABBITMQ_METADATA, metadata
        assert all(isinstance(v, str) for v in metadata.values())  # the CRD: map of strings
        assert metadata["mode"] == "QueueLength" and metadata["protocol"] == "amqp"
        assert float(metadata["value"]) > 0
        assert "host" not in metadata  # the broker URL holds a password: from the Secret
        assert trigger["authenticationRef"]["name"] in auth_names
    auth = find(production, "TriggerAuthentication", "media-rabbitmq")
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "host", "name": SECRET_NAME, "key": "MEDIA_BROKER_URL"}
    ]
    assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} <= RABBITMQ_AUTH_PARAMETERS


def _queues(resources: list[dict[str, Any]]) -> set[str]:
    scaled = find(resources, "ScaledObject", "media-worker")
    return {t["metadata"]["queueName"] for t in scaled["spec"]["triggers"]}


def _job_queues(prefix: str) -> set[str]:
    topology = Topology(prefix, tuple(PipelineSettings().retry_delays_seconds))
    return {topology.queue(Topology.work_key(kind)) for kind in JobKind}


def test_keda_watches_the_job_queues_the_workers_consume(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for name in ("base", "overlays/production"):
        (config,) = [r for r in rendered[name] if r["kind"] == "ConfigMap"]
        assert config["metadata"]["name"].startswith("media-config-")  # with its hash
        assert _queues(rendered[name]) == _job_queues(config["data"]["MEDIA_BROKER_PREFIX"])


def test_keda_queue_names_follow_a_changed_broker_prefix(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{os.path.relpath(KUBERNETES / 'base', tmp_path)}]\n"
        f"components: [{os.path.relpath(KUBERNETES / 'components/job-queue-names', tmp_path)}]\n"
        "configMapGenerator:\n"
        "  - name: media-config\n"
        "    behavior: merge\n"
        "    literals: [MEDIA_BROKER_PREFIX=tenant-a.media]\n"
    )
    resources = render(tmp_path)
    assert (
        _queues(resources)
        == _job_queues("tenant-a.media")
        == {
            "tenant-a.media.image",
            "tenant-a.media.video",
        }
    )


def test_every_media_variable_in_the_manifests_is_a_real_setting(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    names = {
        (kustomization, owner, var)
        for kustomization, resources in rendered.items()
        for owner, container in containers(resources)
        for var in environment(resources, container)
    }
    names |= {
        (kustomization, r["metadata"]["name"], var)
        for kustomization, resources in rendered.items()
        for r in resources
        if r["kind"] == "ConfigMap"
        for var in r["data"]
    }
    assert {var for *_, var in names} >= set(SECRET_VALUES)
    unknown = {n for n in names if n[2].startswith("MEDIA_") and not is_setting(n[2])}
    assert not unknown


def test_server_worker_and_jobs_get_settings_that_pass_the_production_checks(
    rendered: dict[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for kustomization in ("overlays/production", "overlays/production/migrate"):
        resources = rendered[kustomization]
        for owner, container in containers(resources):
            for var in [v for v in os.environ if v.startswith("MEDIA_")]:
                monkeypatch.delenv(var)
            for var, value in environment(resources, container).items():
                monkeypatch.setenv(var, value)
            settings = Settings()
            assert settings.is_production, owner
            assert settings.database_url == SECRET_VALUES["MEDIA_DATABASE_URL"]
            if owner != "media-migrate":
                settings.check_runnable()


def test_secrets_are_referenced_never_inlined(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    secret_settings = set(SECRET_VALUES)
    for resources in rendered.values():
        assert not [r for r in resources if r["kind"] == "Secret"]
        for r in resources:
            if r["kind"] == "ConfigMap":
                assert not secret_settings & set(r["data"])
        for owner, container in containers(resources):
            for item in container.get("env", []):
                if item["name"] in secret_settings:
                    assert item["valueFrom"]["secretKeyRef"]["name"] == SECRET_NAME, owner


def test_commands_the_pods_run_are_media_grpc_commands(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    parser = build_parser()
    seen = {}
    for resources in rendered.values():
        for owner, container in containers(resources):
            args = parser.parse_args(container["args"])
            seen[owner] = container["args"][0]
            assert callable(args.handler)
    assert seen == {
        "media-server": "serve",
        "media-worker": "worker",
        "media-cleanup": "cleanup",
        "media-migrate": "migrate",
    }


def test_shutdown_outlasts_the_servers_drain_and_the_workers_stop_grace(
    production: list[dict[str, Any]],
) -> None:
    server = find(production, "Deployment", "media-server")
    spec = pod_spec(server)
    assert spec is not None
    container = spec["containers"][0]
    drain, grace = flag(container["args"], "--drain"), flag(container["args"], "--grace")
    assert drain > 0 and spec["terminationGracePeriodSeconds"] > drain + grace
    readiness = container["readinessProbe"]
    # The pod leaves the endpoints (readiness fails on NOT_SERVING) before the drain ends.
    assert readiness["periodSeconds"] * readiness["failureThreshold"] < drain
    worker = find(production, "Deployment", "media-worker")
    worker_spec = pod_spec(worker)
    assert worker_spec is not None
    env = environment(production, worker_spec["containers"][0])
    assert worker_spec["terminationGracePeriodSeconds"] > float(
        env["MEDIA_PIPELINE__STOP_GRACE_SECONDS"]
    )


def test_server_probes_are_native_grpc_health_checks_on_the_listen_port(
    production: list[dict[str, Any]],
) -> None:
    spec = pod_spec(find(production, "Deployment", "media-server"))
    assert spec is not None
    container = spec["containers"][0]
    port = int(environment(production, container)["MEDIA_GRPC_LISTEN"].rsplit(":", 1)[1])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": port}, probe
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == port


def test_cleanup_runs_as_a_cronjob_and_not_in_every_worker(
    production: list[dict[str, Any]],
) -> None:
    cron = find(production, "CronJob", "media-cleanup")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    minutes = int(cron["spec"]["schedule"].split()[0].removeprefix("*/"))
    assert minutes * 60 == LifecycleSettings().interval_seconds  # the worker's default
    worker = pod_spec(find(production, "Deployment", "media-worker"))
    assert worker is not None
    env = environment(production, worker["containers"][0])
    assert float(env["MEDIA_LIFECYCLE__INTERVAL_SECONDS"]) == 0


def test_worker_memory_holds_its_stage_children_at_their_replacement_size(
    production: list[dict[str, Any]],
) -> None:
    worker = pod_spec(find(production, "Deployment", "media-worker"))
    assert worker is not None
    container = worker["containers"][0]
    env = environment(production, container)
    limit = container["resources"]["limits"]["memory"]
    assert limit.endswith("Mi")
    children = int(env["MEDIA_PIPELINE__WORKER_THREADS"])
    assert int(limit.removesuffix("Mi")) > children * PipelineSettings().stage_child_max_rss_mb


def test_selectors_of_services_budgets_policies_and_autoscalers_select_pods(
    production: list[dict[str, Any]],
) -> None:
    pods = [pod_labels(r) for r in production if pod_spec(r) is not None]

    def selects(selector: dict[str, str]) -> bool:
        return any(selector.items() <= labels.items() for labels in pods)

    for r in production:
        kind = r["kind"]
        if kind == "Service":
            assert selects(r["spec"]["selector"]), r["metadata"]["name"]
        elif kind in ("PodDisruptionBudget", "Deployment"):
            assert selects(r["spec"]["selector"]["matchLabels"]), r["metadata"]["name"]
        elif kind == "NetworkPolicy":
            assert selects(r["spec"]["podSelector"]["matchLabels"]), r["metadata"]["name"]
        elif kind == "HorizontalPodAutoscaler":
            target = r["spec"]["scaleTargetRef"]
            find(production, target["kind"], target["name"])
            assert r["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_the_scaling_docs_count_the_connections_the_manifests_open(
    production: list[dict[str, Any]],
) -> None:
    """docs/operations.md (Scaling): a process's pool is max(pool size, RPC threads) plus as
    many overflow connections; a server adds its change feed's LISTEN connection."""
    defaults = Settings.model_fields
    per_pod = {}
    for name in ("media-server", "media-worker"):
        spec = pod_spec(find(production, "Deployment", name))
        assert spec is not None
        env = environment(production, spec["containers"][0])
        pool = int(env.get("MEDIA_DATABASE_POOL_SIZE", defaults["database_pool_size"].default))
        threads = int(env.get("MEDIA_GRPC_MAX_WORKERS", defaults["grpc_max_workers"].default))
        per_pod[name] = 2 * max(pool, threads) + (name == "media-server")
    operations = (KUBERNETES.parents[1] / "docs" / "operations.md").read_text()
    assert f"(servers at their maximum x {per_pod['media-server']})" in operations
    assert f"(workers at theirs x {per_pod['media-worker']})" in operations
