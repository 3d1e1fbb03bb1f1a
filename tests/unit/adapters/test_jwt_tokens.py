"""Verifying bearer tokens: shared secret, RSA and EC public keys, and the classic attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from media_grpc.adapters.jwt_tokens import TokenVerifier, issue_token
from media_grpc.config import Settings, SettingsError
from media_grpc.config.auth import AuthSettings
from media_grpc.domain.errors import Unauthenticated
from tests.keys import PrivateKey, ec_key, private_pem, public_pem, rsa_key


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": "alice",
        "iss": "media-grpc-dev",
        "aud": "media-grpc",
        "iat": now,
        "exp": now + 60,
    }
    values.update(overrides)
    return values


def signed(key: PrivateKey, algorithm: str, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), private_pem(key), algorithm=algorithm)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, str], secret: bytes | None) -> str:
    """A token assembled by hand, as an attacker would (PyJWT refuses to make these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_rs256_token_is_verified_with_the_public_key() -> None:
    key = rsa_key()
    verifier = TokenVerifier(AuthSettings(jwt_public_key=public_pem(key)))
    principal = verifier.principal(signed(key, "RS256", role="service"))
    assert (principal.subject, principal.is_service) == ("alice", True)


def test_es256_token_is_verified_with_the_public_key() -> None:
    key = ec_key()
    verifier = TokenVerifier(AuthSettings(jwt_public_key=public_pem(key), jwt_algorithms=["ES256"]))
    assert verifier.principal(signed(key, "ES256")).subject == "alice"


def test_public_key_can_be_read_from_a_file(tmp_path: Path) -> None:
    key = ec_key()
    path = tmp_path / "jwt.pub"
    path.write_text(public_pem(key))
    verifier = TokenVerifier(AuthSettings(jwt_public_key_file=path))
    assert verifier.algorithms == ["ES256"]
    assert verifier.principal(signed(key, "ES256")).subject == "alice"


def test_token_signed_by_another_private_key_is_refused() -> None:
    verifier = TokenVerifier(AuthSettings(jwt_public_key=public_pem(rsa_key())))
    with pytest.raises(Unauthenticated):
        verifier.principal(signed(rsa_key(), "RS256"))


def test_hs256_token_using_the_public_key_as_secret_is_refused() -> None:
    pem = public_pem(rsa_key())
    verifier = TokenVerifier(AuthSettings(jwt_public_key=pem, jwt_algorithms=["RS256", "HS256"]))
    assert verifier.algorithms == ["RS256"]
    forged = hand_made({"alg": "HS256", "typ": "JWT"}, pem.encode())
    with pytest.raises(Unauthenticated):
        verifier.principal(forged)


def test_hs256_token_with_the_development_secret_is_refused_when_a_key_is_set() -> None:
    settings = AuthSettings(jwt_public_key=public_pem(ec_key()))
    with pytest.raises(Unauthenticated):
        TokenVerifier(settings).principal(issue_token(settings, "alice"))


@pytest.mark.parametrize("with_key", [False, True])
def test_alg_none_is_refused(with_key: bool) -> None:
    settings = (
        AuthSettings(jwt_public_key=public_pem(rsa_key()), jwt_algorithms=["RS256", "none"])
        if with_key
        else AuthSettings(jwt_algorithms=["HS256", "none"])
    )
    with pytest.raises(Unauthenticated):
        TokenVerifier(settings).principal(hand_made({"alg": "none", "typ": "JWT"}, None))


def test_hs256_token_with_the_secret_is_verified_and_roles_may_be_a_list() -> None:
    settings = AuthSettings()
    token = jwt.encode(
        claims(role=["reader", "service"]), settings.jwt_secret.get_secret_value(), "HS256"
    )
    assert TokenVerifier(settings).principal(token).is_service


def test_secret_with_only_asymmetric_algorithms_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="HS256"):
        TokenVerifier(AuthSettings(jwt_algorithms=["RS256"]))


def test_a_public_key_that_is_not_pem_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="PEM"):
        TokenVerifier(AuthSettings(jwt_public_key="not a key"))


def test_production_accepts_a_public_key_file_instead_of_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "jwt.pub"
    path.write_text(public_pem(rsa_key()))
    settings = Settings(
        environment="production",
        database_url="postgresql+psycopg://db/media",
        s3_endpoint_url="https://s3.example",
        broker_url="amqp://broker",
        auth=AuthSettings(jwt_public_key_file=path),
    )
    settings.check_runnable()
    with pytest.raises(SettingsError, match="development JWT secret"):
        settings.model_copy(update={"auth": AuthSettings()}).check_runnable()
