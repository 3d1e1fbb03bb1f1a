"""Stream settings: reflection is off by default in production, and MEDIA_STREAMS__* are read."""

from __future__ import annotations

import pytest

from media_grpc.config import Settings


def test_reflection_is_served_in_development_and_off_by_default_in_production() -> None:
    assert Settings(environment="development").serves_reflection
    assert not Settings(environment="production").serves_reflection


def test_reflection_can_be_switched_on_in_production_and_caps_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIA_STREAMS__REFLECTION", "true")
    monkeypatch.setenv("MEDIA_STREAMS__WATCH_PER_PRINCIPAL", "3")
    monkeypatch.setenv("MEDIA_STREAMS__MAX_OPEN", "500")
    monkeypatch.setenv("MEDIA_STREAMS__PUBLIC_MAX_OPEN", "100")
    monkeypatch.setenv("MEDIA_STREAMS__PUBLIC_PER_PEER", "7")
    settings = Settings(environment="production")
    assert settings.serves_reflection
    assert settings.streams.watch_per_principal == 3
    assert settings.streams.max_open == 500
    assert settings.streams.public_max_open == 100
    assert settings.streams.public_per_peer == 7
