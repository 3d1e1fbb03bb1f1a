"""A RabbitMQ node of the test's own (its own node name, AMQP and distribution ports, and
directories in a scratch directory), so that a fault test may stop it without touching the
machine's shared broker. It shares the machine's epmd, which only maps node names to ports.

The Erlang VM is a child of the test process with SIGKILL as its parent-death signal
(``setpriv --pdeathsig``; the thread that started it is inside ``private_rabbitmq`` until the
node stops). The VM's own children (erl_child_setup and its port programs) exit when it does.
So the node dies with the test process, SIGKILL included; the next run deletes its directory.

It needs RabbitMQ's programs: Debian's ``/usr/lib/rabbitmq/bin`` (run directly, not through
the ``/usr/sbin`` wrappers, which switch to the rabbitmq user), else ``rabbitmq-server`` on the
PATH.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.private_postgres import program_dir
from tests.faults.scratch import scratch_directory

#: Seconds the node may take to start (a loaded CI machine included), or a command to run.
START_TIMEOUT = 120
#: The scratch directories' names start so (in the temporary directory).
SCRATCH_PREFIX = "media-private-rabbitmq-"


def _free_port(below: int = 55000) -> int:
    """A free port under ``below``: rabbitmqctl takes its own distribution ports 10000 above
    the node's."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < below:
            return port


@dataclass(frozen=True)
class PrivateRabbitMq:
    """A running node; ``url`` connects as guest (allowed from 127.0.0.1 only)."""

    bindir: Path
    home: Path
    node: str
    port: int
    dist_port: int

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.home),  # the Erlang cookie lives here
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.home / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.home / "log"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.home / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(self.home / "pid"),
            RABBITMQ_CONFIG_FILE=str(self.home / "rabbitmq"),
        )
        return env

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [str(self.bindir / "rabbitmqctl"), "-n", self.node, *args],
            env=self.environment(),
            check=True,
            timeout=START_TIMEOUT,
            capture_output=True,
        )

    def stop_app(self) -> None:
        """As an operator's ``rabbitmqctl stop_app``: the broker closes its connections and
        its port; the node stays up."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")


@contextmanager
def private_rabbitmq() -> Iterator[PrivateRabbitMq]:
    """Start, and at the end stop and remove, a node listening on a free port of 127.0.0.1."""
    bindir = program_dir("rabbitmq-server", [Path("/usr/lib/rabbitmq/bin")])
    if bindir is None:
        pytest.fail("RabbitMQ's programs (rabbitmq-server, rabbitmqctl) are not installed")
    home = scratch_directory(SCRATCH_PREFIX)
    (home / "enabled_plugins").write_text("[].\n")  # no management plugin: no fixed port
    node = f"media-faults-{uuid.uuid4().hex[:8]}@localhost"
    broker = PrivateRabbitMq(bindir, home, node, _free_port(), _free_port())
    with (home / "server.log").open("wb") as log:
        process = subprocess.Popen(
            ["setpriv", "--pdeathsig", "KILL", str(bindir / "rabbitmq-server")],
            # rabbitmq-server then execs the Erlang VM, which keeps the parent-death signal,
            # instead of running it as a child of its own shell; -noinput as it would add.
            env={
                **broker.environment(),
                "RABBITMQ_ALLOW_INPUT": "true",
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-noinput",
            },
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            broker.ctl("wait", "--timeout", str(START_TIMEOUT), str(home / "pid"))
        except subprocess.CalledProcessError:
            pytest.fail(f"a private RabbitMQ did not start:\n{(home / 'server.log').read_text()}")
        yield broker
    finally:
        try:
            broker.ctl("stop")
            process.wait(START_TIMEOUT)
        except (subprocess.SubprocessError, OSError):
            process.kill()
            process.wait()
        shutil.rmtree(home, ignore_errors=True)
