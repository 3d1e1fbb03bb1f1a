"""A local S3 endpoint on 127.0.0.1 for the embedded default, holding what it stores on disk.

It answers the S3 calls this service, its CLI and its browser module make (see
docs/architecture.md, "The embedded S3") and enforces what S3 enforces where a browser or a
stranger would notice:

- every request is signed with SigV4 (header or presigned URL), checked by botocore's own
  signer: a forged, expired or re-dated signature, or a signed header that does not match, is
  refused with 403; a signed body hash or checksum that does not match, with 400;
- unsigned (anonymous) requests may only GET or HEAD objects the bucket policy lets ``*`` read;
- CORS follows the bucket's CORS configuration (as ``storage init`` writes it);
- bodies stream to and from files, so memory does not grow with object size; a ranged GET reads
  only its range, and completing a multipart upload moves no bytes.

Without ``data_dir`` the files go to a temporary directory removed at :meth:`LocalS3.stop`.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from media_grpc.embedded.s3_bucket_ops import BucketOperations
from media_grpc.embedded.s3_http import S3Handler, S3Service
from media_grpc.embedded.s3_object_ops import ObjectOperations
from media_grpc.embedded.s3_store import RestoreReport, S3Store
from media_grpc.embedded.s3_uploads import MultipartUploads
from media_grpc.embedded.sigv4_check import SigV4Checker

#: The credentials the embedded endpoint accepts (no other).
EMBEDDED_ACCESS_KEY = "embedded"
EMBEDDED_SECRET_KEY = "embedded-secret"  # noqa: S105


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


class LocalS3:
    """The embedded S3 served on 127.0.0.1 by a thread per connection.

    Parameters:
        port: TCP port; 0 picks a free one.
        data_dir: where buckets and objects are kept across restarts; None: a temporary
            directory, removed when the endpoint stops.
    """

    def __init__(self, port: int = 0, data_dir: Path | None = None) -> None:
        self._scratch = None if data_dir is not None else tempfile.mkdtemp(prefix="embedded-s3-")
        self.data_dir = data_dir if data_dir is not None else Path(self._scratch or "")
        self.store = S3Store(self.data_dir)
        self.uploads = MultipartUploads(self.store)
        self.port = port
        self.restored = RestoreReport()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Read back what ``data_dir`` keeps, then serve; returns the endpoint URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.restored = self.store.load()
        self.uploads.load()
        service = S3Service(
            self.store,
            ObjectOperations(self.store, self.uploads),
            BucketOperations(self.store, self.uploads),
            SigV4Checker(EMBEDDED_ACCESS_KEY, EMBEDDED_SECRET_KEY),
        )
        handler = type("EmbeddedS3Handler", (S3Handler,), {"service": service})
        self._server = _Server(("127.0.0.1", self.port), handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="embedded-s3", daemon=True
        )
        self._thread.start()
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
