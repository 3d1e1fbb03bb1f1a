"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine): check that they
agree with the settings object instead."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from media_grpc.config import Settings

ROOT = Path(__file__).resolve().parents[2]
#: Services built from this repository's Dockerfile.
MEDIA_SERVICES = ("storage-init", "server", "worker")
#: `${NAME:-default}` interpolation, as docker compose reads it.
INTERPOLATION = re.compile(r"\$\{(\w+):-([^}]*)\}")
#: `${NAME:?message}`: compose refuses to start unless NAME is set.
REQUIRED = re.compile(r"\$\{(\w+):\?([^}]*)\}")
#: What a user sets for each required variable, in these tests.
USER_VALUES = {"MEDIA_JWT_SECRET": "a-secret-of-the-user-that-is-48-bytes-long-xxxxx"}
#: Services whose ports must stay on the host (credentials in this file, admin UIs).
BACKING_SERVICES = ("postgres", "rabbitmq", "minio")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {
        k: REQUIRED.sub(
            lambda m: USER_VALUES[m.group(1)], INTERPOLATION.sub(lambda m: m.group(2), str(v))
        )
        for k, v in env.items()
    }


def is_setting(name: str) -> bool:
    """MEDIA_AUTH__JWT_SECRET -> Settings.auth.jwt_secret, walking nested groups."""
    model: type[BaseModel] = Settings
    parts = name.removeprefix("MEDIA_").lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if i < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def test_setting_names_are_resolved_through_nested_groups() -> None:
    assert is_setting("MEDIA_AUTH__JWT_SECRET") and is_setting("MEDIA_LIFECYCLE__BATCH_SIZE")
    assert not is_setting("MEDIA_AUTH__NO_SUCH") and not is_setting("MEDIA_DATABASE_URL__X")
    assert not is_setting("MEDIA_NO_SUCH_THING")


def test_every_media_variable_in_compose_is_a_real_setting(compose: dict[str, Any]) -> None:
    unknown = {
        f"{name}: {var}"
        for name, service in compose["services"].items()
        for var in environment(service)
        if var.startswith("MEDIA_") and not is_setting(var)
    }
    assert not unknown


def test_media_services_get_settings_that_pass_the_production_checks(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in MEDIA_SERVICES:
        env = environment(compose["services"][name])
        for var in [v for v in os.environ if v.startswith("MEDIA_")]:
            monkeypatch.delenv(var)
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        settings = Settings()
        assert settings.is_production, name
        settings.check_runnable()
        assert settings.database_url and "@postgres:" in settings.database_url
        assert settings.broker_url and "@rabbitmq:" in settings.broker_url
        assert settings.s3_endpoint_url == "http://minio:9000"


def test_credentials_agree_between_the_services_and_their_backing_stores(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    env = environment(services["server"])
    postgres = services["postgres"]["environment"]
    assert (
        f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@postgres:5432/"
        f"{postgres['POSTGRES_DB']}"
    ) in env["MEDIA_DATABASE_URL"]
    rabbit = services["rabbitmq"]["environment"]
    assert (
        f"{rabbit['RABBITMQ_DEFAULT_USER']}:{rabbit['RABBITMQ_DEFAULT_PASS']}@rabbitmq"
        in env["MEDIA_BROKER_URL"]
    )
    minio = services["minio"]["environment"]
    assert (env["MEDIA_S3_ACCESS_KEY_ID"], env["MEDIA_S3_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )


def test_ports_published_are_the_ones_the_server_listens_on(compose: dict[str, Any]) -> None:
    server = compose["services"]["server"]
    env = environment(server)
    grpc_port = env["MEDIA_GRPC_LISTEN"].rsplit(":", 1)[1]
    published = {p.split(":")[-1] for p in server["ports"]}
    assert {grpc_port, env["MEDIA_METRICS_PORT"]} <= published
    assert env["MEDIA_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 (inside a container)
    assert "migrate" in " ".join(server["entrypoint"])


def test_long_running_services_have_health_checks_and_wait_for_what_they_need(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("postgres", "rabbitmq", "minio", "server", "worker"):
        assert services[name].get("healthcheck"), name
    assert set(services["server"]["depends_on"]) == {"postgres", "rabbitmq", "storage-init"}
    assert services["storage-init"]["command"] == ["storage", "init"]
    assert "management" in services["rabbitmq"]["image"]


def test_dockerfile_runs_as_a_non_root_user_on_python_311_slim() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM python:3.11-slim") == 2
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["media-grpc"]' in dockerfile


def test_compose_requires_the_jwt_secret_without_a_fallback(compose: dict[str, Any]) -> None:
    for name in MEDIA_SERVICES:
        secret = str(compose["services"][name]["environment"]["MEDIA_AUTH__JWT_SECRET"])
        assert REQUIRED.fullmatch(secret), (name, secret)
        assert not INTERPOLATION.search(secret)


def test_backing_services_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    for name in BACKING_SERVICES:
        ports = compose["services"][name].get("ports") or []
        assert ports, name
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_dockerfile_runs_in_production_mode() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ENV MEDIA_ENVIRONMENT=production\b", dockerfile, flags=re.M)
