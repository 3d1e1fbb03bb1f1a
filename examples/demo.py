"""`make demo`: the embedded service, the reference gateway and the demo page, on 127.0.0.1.

The page is served from ``http://localhost:3000`` by default: the origin `storage init` (and the
embedded start-up) allow in the bucket's CORS rule, and the gateway allows. It prints the page's
URL with a development token in its fragment. Ctrl-C stops all three.

Storage is the embedded S3 unless ``MEDIA_S3_ENDPOINT_URL`` is set: then the demo takes the
service's own S3 settings from the environment (:data:`S3_SETTINGS`: endpoint, region, bucket,
keys, addressing style, CDN base URL, the archive rule's days and class) and runs ``media-grpc
storage init`` first, which creates the bucket if needed and writes its CORS rule for the page's
origin, its bucket policy and its lifecycle rules. Every other ``MEDIA_`` variable of the
environment is ignored.
"""

from __future__ import annotations

import argparse
import functools
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PAGE_DIR = ROOT / "examples" / "browser"
#: The service's settings of an external S3 that the demo passes on from its environment.
S3_SETTINGS = (
    "MEDIA_S3_ENDPOINT_URL",
    "MEDIA_S3_REGION",
    "MEDIA_S3_BUCKET",
    "MEDIA_S3_ACCESS_KEY_ID",
    "MEDIA_S3_SECRET_ACCESS_KEY",
    "MEDIA_S3_ADDRESSING_STYLE",
    "MEDIA_CDN_BASE_URL",
    # The archive rule `storage init` writes (a store without GLACIER, such as Ceph RGW, wants
    # MEDIA_STORAGE__ARCHIVE_AFTER_DAYS=0: no rule, and no start-up warning about the class).
    "MEDIA_STORAGE__ARCHIVE_AFTER_DAYS",
    "MEDIA_STORAGE__ARCHIVE_STORAGE_CLASS",
)


def external_s3_settings(environ: dict[str, str]) -> dict[str, str]:
    """The :data:`S3_SETTINGS` set in ``environ`` when it names an endpoint, else none (the
    embedded S3)."""
    if not environ.get("MEDIA_S3_ENDPOINT_URL"):
        return {}
    return {name: environ[name] for name in S3_SETTINGS if environ.get(name)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[Any], what: str, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds} s")


class _QuietPage(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Demo:
    """The three running parts; ``stop()`` ends them."""

    data_dir: Path
    page_port: int = 3000
    gateway_port: int = 8080
    grpc_port: int = 50051
    s3_port: int = 9000
    origin_host: str = "localhost"
    #: Where the service's output goes (None: this terminal); the embedded S3's access log is in it.
    log_path: Path | None = None
    #: MEDIA_S3_* settings of an external S3 (:func:`external_s3_settings`); empty: the embedded S3.
    s3_env: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    page_server: ThreadingHTTPServer | None = None
    #: What `storage init` printed (external S3 only).
    storage_init_lines: list[str] = field(default_factory=list)

    @property
    def page_origin(self) -> str:
        return f"http://{self.origin_host}:{self.page_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def embeds_s3(self) -> bool:
        return "MEDIA_S3_ENDPOINT_URL" not in self.s3_env

    @property
    def s3_url(self) -> str:
        """The S3 endpoint the browser PUTs to."""
        if self.embeds_s3:
            return f"http://127.0.0.1:{self.s3_port}"
        return self.s3_env["MEDIA_S3_ENDPOINT_URL"].rstrip("/")

    def start(self, extra_env: dict[str, str] | None = None) -> Demo:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
        env.update(
            MEDIA_DATA_DIR=str(self.data_dir),
            MEDIA_GRPC_LISTEN=f"127.0.0.1:{self.grpc_port}",
            MEDIA_EMBEDDED_S3_PORT=str(self.s3_port),
            MEDIA_METRICS_PORT="0",
            MEDIA_STORAGE__CORS_ALLOWED_ORIGINS=f'["{self.page_origin}"]',
        )
        env.update(self.s3_env)
        env.update(extra_env or {})
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "generated"), str(ROOT / "src")])
        self.env = env
        if not self.embeds_s3:
            self.init_storage()
        output = open(self.log_path, "w") if self.log_path else None  # noqa: SIM115
        serve = subprocess.Popen(
            [str(BIN / "media-grpc"), "serve"],
            env=env,
            text=True,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        self.processes.append(serve)
        wait_for_port(self.grpc_port, serve, "media-grpc serve")
        if self.embeds_s3:
            wait_for_port(self.s3_port, serve, "the embedded S3")
        gateway = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "examples" / "gateway" / "gateway.py"),
                "--listen",
                f"127.0.0.1:{self.gateway_port}",
                "--target",
                f"127.0.0.1:{self.grpc_port}",
                "--allow-origin",
                self.page_origin,
            ],
            env=env,
            text=True,
        )
        self.processes.append(gateway)
        wait_for_port(self.gateway_port, gateway, "the gateway")
        handler = functools.partial(_QuietPage, directory=str(PAGE_DIR))
        self.page_server = ThreadingHTTPServer(("127.0.0.1", self.page_port), handler)
        threading.Thread(target=self.page_server.serve_forever, daemon=True).start()
        return self

    def init_storage(self) -> list[str]:
        """`media-grpc storage init` on the external S3: the bucket, CORS for the page's origin,
        the bucket policy and lifecycle rules. Returns the lines it printed."""
        done = subprocess.run(
            [str(BIN / "media-grpc"), "storage", "init"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"media-grpc storage init failed: {done.stderr.strip()}")
        self.storage_init_lines = done.stdout.splitlines()
        return self.storage_init_lines

    def token(self, user: str = "demo") -> str:
        done = subprocess.run(
            [str(BIN / "media-grpc"), "token", "--user", user],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout.strip()

    def page_url(self, token: str) -> str:
        return f"{self.page_origin}/index.html#gateway={self.gateway_url}&token={token}"

    def stop(self) -> None:
        if self.page_server is not None:
            self.page_server.shutdown()
            self.page_server.server_close()
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description="media-grpc browser demo")
    parser.add_argument("--data-dir", default=str(ROOT / ".media-data"))
    args = parser.parse_args()
    demo = Demo(Path(args.data_dir), s3_env=external_s3_settings(dict(os.environ))).start()
    try:
        if demo.storage_init_lines:
            print("storage init:\n  " + "\n  ".join(demo.storage_init_lines), flush=True)
        print(f"\nOpen {demo.page_url(demo.token())}\n(Ctrl-C stops the demo)", flush=True)
        demo.processes[0].wait()
    except KeyboardInterrupt:
        pass
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
