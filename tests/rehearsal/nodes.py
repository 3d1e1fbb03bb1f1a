"""`media-grpc serve` and `media-grpc worker` started inside a node's namespace, their JSON logs
read back, and the node killed as a crash would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.rehearsal.network import Node

CLI = str(Path(sys.executable).parent / "media-grpc")
GRPC_PORT = 50051


@dataclass
class Process:
    """One media-grpc process of a node."""

    node: Node
    role: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    @property
    def target(self) -> str:
        return f"{self.node.address}:{GRPC_PORT}"

    def lines(self) -> list[dict[str, Any]]:
        """Its JSON log lines so far."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def kill(self) -> None:
        """SIGKILL the process and its children (a crashed node), and wait for them."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def start(node: Node, role: str, env: dict[str, str], log_dir: Path) -> Process:
    """``media-grpc serve`` (role ``serve``) or ``worker`` in the node's namespace. setpriv
    (util-linux) has the kernel SIGKILL it when the thread that started it ends; call this
    from the rehearsal's main thread."""
    args = [CLI, "--log-format", "json", role]
    if role == "serve":
        args += ["--listen", f"0.0.0.0:{GRPC_PORT}", "--drain", "0", "--grace", "5"]
    log_path = log_dir / f"{node.name}.log"
    log = log_path.open("ab")
    popen = subprocess.Popen(
        ["setpriv", "--pdeathsig", "KILL", "ip", "netns", "exec", node.namespace, *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Process(node, role, popen, log_path, log)
