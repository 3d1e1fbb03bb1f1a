"""A PostgreSQL server of the test's own (initdb and postgres in a scratch directory, on a free
port), so that a fault test may restart it without touching the machine's shared one. It dies
with the test process, SIGKILL included; the next run deletes the directory such a run left.

It needs PostgreSQL's server programs: ``MEDIA_TEST_POSTGRES_BINDIR``, else the newest
``/usr/lib/postgresql/*/bin`` (Debian, Ubuntu), else ``initdb`` on the PATH. PostgreSQL refuses
to run as root: as root, it runs as the ``postgres`` user (``setpriv``, ``runuser`` for initdb).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psycopg
import pytest

from tests.faults.scratch import scratch_directory
from tests.waiting import until

#: Seconds initdb, a start or a stop may take (a loaded CI machine included).
COMMAND_TIMEOUT = 120
#: The scratch directories' names start so (in the temporary directory).
SCRATCH_PREFIX = "media-private-pg-"


def program_dir(program: str, preferred: list[Path]) -> Path | None:
    """The first of ``preferred`` holding ``program``, else the directory of ``program`` on
    the PATH."""
    for directory in preferred:
        if (directory / program).exists():
            return directory
    found = shutil.which(program)
    return Path(found).parent if found else None


def server_bindir() -> Path | None:
    configured = os.environ.get("MEDIA_TEST_POSTGRES_BINDIR")
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parts[-2]), reverse=True
    )
    return program_dir("initdb", [Path(configured)] if configured else installed)


class PrivatePostgres:
    """A running server; ``url`` connects as ``postgres`` to its ``postgres`` database.

    The server (``postgres -D data``) runs in the foreground as a child of this process, with
    SIGKILL as its parent-death signal (``setpriv --pdeathsig``, which also switches to
    ``user``), so it dies with the test process however that one ends. The kernel sends that
    signal when the *thread* that started the server ends: every start runs on one thread of
    this server's own, which lives until ``close``.
    """

    def __init__(self, bindir: Path, data: Path, port: int, user: str | None) -> None:
        self.bindir = bindir
        self.data = data
        self.port = port
        self.user = user
        self.log = data.parent / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._starter = ThreadPoolExecutor(1, thread_name_prefix="private-postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pid(self) -> int:
        """The postmaster's pid."""
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def command(self) -> list[str]:
        """``postgres`` on its port, address and socket directory, under ``setpriv``."""
        switch = ["--reuid", self.user, "--regid", self.user, "--init-groups"] if self.user else []
        return [
            "setpriv",
            "--pdeathsig",
            "KILL",
            *switch,
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-c",
            f"port={self.port}",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.data.parent}",
        ]

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self._process = self._starter.submit(self._spawn, log).result()
        if not until(self._accepts, COMMAND_TIMEOUT, every=0.05):
            pytest.fail(f"the private PostgreSQL did not start:\n{self.log.read_text()}")

    def stop(self, how: signal.Signals = signal.SIGINT) -> None:
        """Stop the server and wait until it has exited: SIGINT is a fast shutdown, SIGQUIT an
        immediate one."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(how)
            self._process.wait(COMMAND_TIMEOUT)

    def restart(self, down_for: float = 0.0) -> None:
        """As ``pg_ctlcluster ... restart`` does: a fast shutdown, then a start.

        ``down_for`` seconds pass between the two: this small server restarts in a fraction of a
        second, where a loaded production one is gone for seconds (2.6 s measured in issue #23).
        The pause is the fault's length, not a wait for a condition.
        """
        self.stop()
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        """An immediate shutdown, and the end of the starting thread."""
        self.stop(signal.SIGQUIT)
        self._starter.shutdown()

    def run(self, *command: str) -> None:
        """Run a program to its end, as ``user`` (``runuser``) where set."""
        as_user = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run(
            [*as_user, *command], check=True, timeout=COMMAND_TIMEOUT, capture_output=True
        )

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C at the terminal is for pytest, not the server
        )

    def _accepts(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            pytest.fail(f"the private PostgreSQL exited:\n{self.log.read_text()}")
        try:
            psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user="postgres",
                dbname="postgres",
                connect_timeout=5,
            ).close()
        except psycopg.OperationalError:
            return False
        return True


@contextmanager
def private_postgres(port: int) -> Iterator[PrivatePostgres]:
    """Create, start, and at the end stop and remove a server listening on 127.0.0.1:``port``."""
    bindir = server_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL's server programs (initdb, postgres) are not installed: install them "
            "(Debian: postgresql) or set MEDIA_TEST_POSTGRES_BINDIR"
        )
    user = "postgres" if os.geteuid() == 0 else None
    home = scratch_directory(SCRATCH_PREFIX)
    if user:
        account = pwd.getpwnam(user)
        os.chown(home, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(bindir, home / "data", port, user)
    try:
        server.run(str(bindir / "initdb"), "-D", str(server.data), "-U", "postgres", "--auth=trust")
        server.start()
        yield server
    finally:
        server.close()
        shutil.rmtree(home, ignore_errors=True)
