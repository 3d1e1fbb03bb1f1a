"""`media-grpc token` prints a token the server accepts, and refuses when it could not."""

from __future__ import annotations

import argparse

import pytest

from media_grpc.adapters.jwt_tokens import TokenVerifier
from media_grpc.commands import token
from media_grpc.config import Settings
from tests.keys import public_pem, rsa_key


def args(**values: object) -> argparse.Namespace:
    return argparse.Namespace(**{"user": "gateway", "role": "service", "ttl": 60, **values})


def test_token_is_accepted_as_a_service_principal(capsys: pytest.CaptureFixture[str]) -> None:
    assert token.run(args()) == 0
    principal = TokenVerifier(Settings().auth).principal(capsys.readouterr().out.strip())
    assert (principal.subject, principal.is_service) == ("gateway", True)


def test_token_refuses_when_the_server_verifies_with_a_public_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDIA_AUTH__JWT_PUBLIC_KEY", public_pem(rsa_key()))
    assert token.run(args()) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "public" in captured.err.lower()
