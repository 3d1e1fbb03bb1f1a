"""Server credentials for TLS and mutual TLS, from TlsSettings."""

from __future__ import annotations

import grpc

from media_grpc.config.tls import TlsSettings


def server_credentials(tls: TlsSettings) -> grpc.ServerCredentials | None:
    """None for plaintext; otherwise the certificate, key and (for mTLS) client CAs, read now."""
    if tls.cert_file is None or tls.key_file is None:
        return None
    client_cas = tls.client_ca_file.read_bytes() if tls.client_ca_file is not None else None
    return grpc.ssl_server_credentials(
        [(tls.key_file.read_bytes(), tls.cert_file.read_bytes())],
        root_certificates=client_cas,
        require_client_auth=tls.require_client_cert,
    )
