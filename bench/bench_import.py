"""Import throughput: `media-grpc import` against a plain sequential download-and-upload of the same
files (requests GET, then boto3 put_object), in the same run, rounds interleaved. The server
fetches each legacy URL from a local HTTP host and streams it into S3, then records it and
queues its job. Both move the same bytes between the same two local endpoints.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from bench.load import background_load
from bench.stack import Stack, stack
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.config.auth import AuthSettings

#: Files per round and their size (MEDIA_BENCH_IMPORT_FILES, MEDIA_BENCH_IMPORT_MIB).
FILES = int(os.environ.get("MEDIA_BENCH_IMPORT_FILES", "24"))
FILE_MIB = int(os.environ.get("MEDIA_BENCH_IMPORT_MIB", "4"))
ROUNDS = int(os.environ.get("MEDIA_BENCH_IMPORT_ROUNDS", "3"))
CONCURRENCY = 4
#: A JPEG's first bytes: the server sniffs the type; no worker decodes these files.
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
BIN = Path(sys.executable).parent


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def legacy_host(directory: Path) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def make_files(directory: Path) -> list[str]:
    names = []
    for n in range(FILES):
        name = f"legacy-{n}.jpg"
        (directory / name).write_bytes(JPEG_HEAD + os.urandom(FILE_MIB * 2**20 - len(JPEG_HEAD)))
        names.append(name)
    return names


def reference(running: Stack, urls: list[str], round_: int) -> float:
    """Seconds for one GET and one put_object per file, one file after another."""
    s3 = running.s3.client()
    started = time.perf_counter()
    with requests.Session() as http:
        for n, url in enumerate(urls):
            answer = http.get(url, timeout=60)
            answer.raise_for_status()
            s3.put_object(
                Bucket=running.bucket,
                Key=f"reference/{round_}/{n}.jpg",
                Body=answer.content,
                ContentType="image/jpeg",
            )
    return time.perf_counter() - started


def ours(running: Stack, urls: list[str], work: Path, round_: int) -> float:
    """Seconds for `media-grpc import` of the same files (stopping at UPLOADED)."""
    rows = work / f"round-{round_}.csv"
    rows.write_text(
        "url,owner_id,purpose\n" + "".join(f"{u}?round={round_},bench,post_image\n" for u in urls)
    )
    env = {
        **running.env,
        "MEDIA_TOKEN": issue_token(AuthSettings(), "bench-import", role="service"),
        "MEDIA_ADDRESS": f"127.0.0.1:{running.ports[0]}",
    }
    command = [str(BIN / "media-grpc"), "import", str(rows), "--no-wait", "--no-progress"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--concurrency", str(CONCURRENCY), "--map", str(work / f"map-{round_}.jsonl")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or f"{len(urls)} imported, 0 failed" not in done.stdout:
        raise RuntimeError(f"import failed: {done.stdout}\n{done.stderr}")
    return elapsed


def measure(running: Stack, work: Path, port: int, names: list[str], quiet: str) -> str:
    urls = [f"http://127.0.0.1:{port}/{name}" for name in names]
    ref: list[float] = []
    imported: list[float] = []
    for n in range(ROUNDS):
        if n % 2:
            imported.append(ours(running, urls, work, n))
            ref.append(reference(running, urls, n))
        else:
            ref.append(reference(running, urls, n))
            imported.append(ours(running, urls, work, n))
    mib = FILES * FILE_MIB

    def row(name: str, seconds: list[float]) -> str:
        median = statistics.median(seconds)
        return f"| {name} | {median:.2f} | {FILES / median:.1f} | {mib / median:.0f} |"

    ratio = statistics.median(ref) / statistics.median(imported)
    return f"""{__doc__}
{FILES} files of {FILE_MIB} MiB per round; medians of {ROUNDS} interleaved rounds. Ours runs
`media-grpc import --concurrency {CONCURRENCY} --no-wait` against one `serve` process with a
broker configured and no worker (nothing processes the files meanwhile); the legacy host is a
Python `http.server` on 127.0.0.1, listed on `MEDIA_IMPORT__ALLOWED_HOSTS`. {quiet}

| contender | seconds | files/s | MiB/s |
|---|---:|---:|---:|
{row("reference: sequential GET + put_object", ref)}
{row("ours: media-grpc import", imported)}

Ours / reference throughput: **{ratio:.2f}x**.
"""


def run() -> str:
    quiet = background_load()
    with tempfile.TemporaryDirectory() as tmp, stack(servers=0, broker=True) as running:
        work = Path(tmp)
        files = work / "legacy"
        files.mkdir()
        names = make_files(files)
        with legacy_host(files) as port:
            running.add_server(
                {
                    "MEDIA_IMPORT__ALLOWED_HOSTS": f'["127.0.0.1:{port}"]',
                    "MEDIA_IMPORT__ALLOW_HTTP": "true",
                }
            )
            return measure(running, work, port, names, quiet)
