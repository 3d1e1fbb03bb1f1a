"""deploy/prometheus/alerts.yml: the structure Prometheus expects, and only metrics that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from media_grpc.observability import metrics

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
METRIC_NAME = re.compile(r"\bmedia_[a-z_]+\b")
RECORDED = re.compile(r"\bmedia:[a-z_:0-9]+\b")


def exposed_names() -> set[str]:
    """Every series name our metrics module exposes (``_total``, ``_bucket``, ...)."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(value._name + "_total")
        elif isinstance(value, Histogram):
            names |= {value._name + suffix for suffix in ("_bucket", "_sum", "_count")}
        elif isinstance(value, Gauge):
            names.add(value._name)
    return names


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    assert [g["name"] for g in loaded["groups"]] == ["media-grpc"]
    found: list[dict[str, Any]] = loaded["groups"][0]["rules"]
    return found


def test_alert_rules_reference_only_metrics_the_service_exposes() -> None:
    known = exposed_names()
    recorded = {r["record"] for r in rules() if "record" in r}
    for rule in rules():
        assert set(METRIC_NAME.findall(rule["expr"])) <= known, rule["expr"]
        assert set(RECORDED.findall(rule["expr"])) <= recorded, rule["expr"]


def test_every_alert_has_a_duration_a_severity_and_a_summary() -> None:
    alerts = [r for r in rules() if "alert" in r]
    for alert in alerts:
        assert re.fullmatch(r"\d+[smh]", alert["for"]), alert["alert"]
        assert alert["labels"]["severity"] in ("warning", "critical")
        assert alert["annotations"]["summary"]
    names = {a["alert"] for a in alerts}
    assert {"MediaUploadFailureRatioHigh", "MediaProcessingFailureRatioHigh"} <= names


def test_promtool_accepts_the_rules_file() -> None:
    # `make test` installs it (scripts/ensure-promtool.sh: Debian's `prometheus` package).
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: apt-get install prometheus (make test does)"
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout, done.stdout


def test_the_seed_thresholds_are_the_ones_alerted_on() -> None:
    by_name = {r.get("alert"): r["expr"] for r in rules()}
    assert by_name["MediaUploadFailureRatioHigh"].endswith("> 0.05")
    assert by_name["MediaProcessingFailureRatioHigh"].endswith("> 0.10")


def test_metrics_are_registered_under_the_media_prefix() -> None:
    ours = [m for m in REGISTRY.collect() if m.name.startswith("media_")]
    assert len(ours) >= 13
    assert all(name.startswith("media_") for name in exposed_names())
