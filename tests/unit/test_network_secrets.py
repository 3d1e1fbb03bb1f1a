"""A public or short JWT secret never serves a non-loopback address, in any environment."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from media_grpc.config import Settings, SettingsError, is_loopback
from media_grpc.config.auth import DEVELOPMENT_JWT_SECRET, AuthSettings

STRONG = "x" * 32
PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n"


@pytest.mark.parametrize(
    "address", ["127.0.0.1:50051", "127.1.2.3:0", "localhost:50051", "[::1]:50051", "unix:/s"]
)
def test_loopback_addresses(address: str) -> None:
    assert is_loopback(address)


@pytest.mark.parametrize(
    "address", ["0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "media.example:50051", ":50051"]
)
def test_network_addresses(address: str) -> None:
    assert not is_loopback(address)


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize(
    "secret", [DEVELOPMENT_JWT_SECRET, "compose-only-secret-change-me", "x" * 31]
)
def test_a_public_or_short_secret_is_refused_on_a_network_address_in_every_environment(
    environment: str, secret: str
) -> None:
    settings = Settings(
        environment=environment,  # type: ignore[arg-type]
        grpc_listen="0.0.0.0:50051",
        database_url="postgresql+psycopg://db/media",
        s3_endpoint_url="http://s3:9000",
        broker_url="amqp://mq/",
        auth=AuthSettings(jwt_secret=SecretStr(secret)),
    )
    with pytest.raises(SettingsError, match=r"refusing to listen on 0\.0\.0\.0:50051"):
        settings.check_runnable()


def refusal(settings: Settings) -> str | None:
    """Why ``settings`` must not serve, or None when they may."""
    try:
        settings.check_runnable()
    except SettingsError as e:
        return str(e)
    return None


def test_the_development_secret_still_serves_loopback_in_development() -> None:
    assert refusal(Settings(grpc_listen="127.0.0.1:50051")) is None


@pytest.mark.parametrize(
    "auth", [AuthSettings(jwt_secret=SecretStr(STRONG)), AuthSettings(jwt_public_key=PUBLIC_KEY)]
)
def test_a_long_secret_or_a_public_key_serves_the_network(auth: AuthSettings) -> None:
    assert refusal(Settings(grpc_listen="0.0.0.0:1", auth=auth)) is None


def test_an_address_given_at_serve_time_is_checked_too() -> None:
    settings = Settings(grpc_listen="127.0.0.1:50051")
    settings.check_listen("127.0.0.1:0")
    with pytest.raises(SettingsError):
        settings.check_listen("0.0.0.0:50051")
