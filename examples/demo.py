"""`make demo`: the embedded service, the reference gateway and the demo page, on 127.0.0.1.

The page is served from ``http://localhost:3000`` by default: the origin `storage init` (and the
embedded start-up) allow in the bucket's CORS rule, and the gateway allows. It prints the page's
URL with a development token in its fragment. Ctrl-C stops all three.
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
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    page_server: ThreadingHTTPServer | None = None

    @property
    def page_origin(self) -> str:
        return f"http://{self.origin_host}:{self.page_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start(self, extra_env: dict[str, str] | None = None) -> Demo:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
        env.update(
            MEDIA_DATA_DIR=str(self.data_dir),
            MEDIA_GRPC_LISTEN=f"127.0.0.1:{self.grpc_port}",
            MEDIA_EMBEDDED_S3_PORT=str(self.s3_port),
            MEDIA_METRICS_PORT="0",
            MEDIA_STORAGE__CORS_ALLOWED_ORIGINS=f'["{self.page_origin}"]',
        )
        env.update(extra_env or {})
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "generated"), str(ROOT / "src")])
        self.env = env
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
    demo = Demo(Path(args.data_dir)).start()
    try:
        print(f"\nOpen {demo.page_url(demo.token())}\n(Ctrl-C stops the demo)", flush=True)
        demo.processes[0].wait()
    except KeyboardInterrupt:
        pass
    finally:
        demo.stop()


if __name__ == "__main__":
    main()
