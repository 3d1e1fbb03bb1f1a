"""A local S3 endpoint (moto's server) on 127.0.0.1, for the embedded default and tests.

It stores objects in memory and enforces nothing of a presigned URL (signature, expiry, signed
headers, checksums): the service verifies every object itself. It binds to 127.0.0.1 only.
"""

from __future__ import annotations

from typing import Any

#: Credentials the embedded endpoint accepts (it accepts any).
EMBEDDED_ACCESS_KEY = "embedded"
EMBEDDED_SECRET_KEY = "embedded-secret"  # noqa: S105


class LocalS3:
    def __init__(self, port: int = 0) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as e:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "the embedded S3 endpoint needs moto: pip install 'media-grpc[embedded]'"
            ) from e
        self._server: Any = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.port = port

    def start(self) -> str:
        """Start serving; returns the endpoint URL."""
        self._server.start()
        _, self.port = self._server.get_host_and_port()
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop()
