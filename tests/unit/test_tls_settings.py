"""TLS settings refuse half configurations."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from media_grpc.config.tls import TlsSettings


def test_tls_is_off_by_default() -> None:
    assert not TlsSettings().enabled


def test_certificate_without_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="go together"):
        TlsSettings(cert_file=Path("server.crt"))


def test_requiring_client_certificates_needs_a_client_ca() -> None:
    with pytest.raises(ValidationError, match="CLIENT_CA_FILE"):
        TlsSettings(cert_file=Path("s.crt"), key_file=Path("s.key"), require_client_cert=True)


def test_client_ca_without_server_tls_is_refused() -> None:
    with pytest.raises(ValidationError, match="CERT_FILE"):
        TlsSettings(client_ca_file=Path("ca.crt"))
