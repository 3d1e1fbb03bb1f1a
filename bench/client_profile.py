"""Where our upload client spends its Python CPU: py-spy (``--gil``) on the benchmark's own
process while one upload runs, by what the innermost known frame was doing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from bench import profiling

#: The client's components, by a fragment of the frame's file (innermost match wins).
CLIENT_CATEGORIES = (
    ("client/upload.py", "the Uploader: parts, their ETags, the hash (client/upload.py)"),
    ("client/transfer.py", "the body in blocks, progress, throttling (client/transfer.py)"),
    ("client/", "the rest of media_grpc.client"),
    ("tenacity/", "tenacity (retries around each PUT)"),
    ("requests/", "requests and urllib3 (HTTP)"),
    ("urllib3/", "requests and urllib3 (HTTP)"),
    ("http/client", "http.client (sending the body)"),
    ("grpc/", "grpc (CreateUploadSession, CompleteUpload)"),
    ("concurrent/futures", "thread pool"),
)


def profiled_client(upload: Callable[[], object], work: Path, rate: int = 100) -> str:
    """Run ``upload()`` once (not timed) under py-spy ``--gil`` on this process."""
    if profiling.py_spy() is None:
        return "_py-spy is not installed (`make bench` installs it): no profile of the client._"
    raw = work / "client-profile.txt"
    sampler = profiling.record(os.getpid(), 600, raw, rate=rate)
    try:
        time.sleep(0.5)  # attached before the upload starts
        upload()
    finally:
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=60)
    if not raw.exists():
        return "_py-spy could not attach to the benchmark's own process._"
    return profiling.summarise(raw, categories=CLIENT_CATEGORIES)
