"""Settings of TLS on the gRPC port (MEDIA_TLS__*). Unset: plaintext (behind a TLS proxy)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, model_validator


class TlsSettings(BaseModel):
    """Server TLS, and optionally mutual TLS: client certificates signed by ``client_ca_file``.

    A client certificate only admits the connection; every call still needs its bearer token.
    """

    #: PEM certificate chain of the server. Set with ``key_file`` to serve TLS only.
    cert_file: Path | None = None
    #: PEM private key of the server certificate.
    key_file: Path | None = None
    #: PEM bundle of the CAs whose client certificates are accepted.
    client_ca_file: Path | None = None
    #: Refuse connections that present no valid client certificate (mutual TLS).
    require_client_cert: bool = False

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("MEDIA_TLS__CERT_FILE and MEDIA_TLS__KEY_FILE go together")
        if self.client_ca_file is not None and self.cert_file is None:
            raise ValueError("MEDIA_TLS__CLIENT_CA_FILE needs MEDIA_TLS__CERT_FILE (server TLS)")
        if self.require_client_cert and self.client_ca_file is None:
            raise ValueError("MEDIA_TLS__REQUIRE_CLIENT_CERT needs MEDIA_TLS__CLIENT_CA_FILE")
        return self
