"""A PostgreSQL server of the test's own (initdb and pg_ctl in a scratch directory, on a free
port), so that a fault test may restart it without touching the machine's shared one.

It needs PostgreSQL's server programs: ``MEDIA_TEST_POSTGRES_BINDIR``, else the newest
``/usr/lib/postgresql/*/bin`` (Debian, Ubuntu), else ``initdb`` on the PATH. PostgreSQL refuses
to run as root: as root, the server runs as the ``postgres`` user (``runuser``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Seconds any one pg_ctl or initdb run may take (a loaded CI machine included).
COMMAND_TIMEOUT = 120


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


@dataclass(frozen=True)
class PrivatePostgres:
    """A running server; ``url`` connects as ``postgres`` to its ``postgres`` database."""

    bindir: Path
    data: Path
    port: int
    user: str | None

    @property
    def options(self) -> str:
        """The server's settings on pg_ctl's command line: its port, address and socket."""
        socket_dir = self.data.parent
        return (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={socket_dir}"
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        log = self.data.parent / "server.log"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", *args)

    def restart(self, down_for: float = 0.0) -> None:
        """As ``pg_ctlcluster ... restart`` does: a fast shutdown, then a start.

        ``down_for`` seconds pass between the two: this small server restarts in a fraction of a
        second, where a loaded production one is gone for seconds (2.6 s measured in issue #23).
        The pause is the fault's length, not a wait for a condition.
        """
        self.pg_ctl("-m", "fast", "stop")
        time.sleep(down_for)
        self.pg_ctl("-o", self.options, "start")

    def _run(self, *command: str) -> None:
        as_user = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run(
            [*as_user, *command], check=True, timeout=COMMAND_TIMEOUT, capture_output=True
        )


@contextmanager
def private_postgres(port: int) -> Iterator[PrivatePostgres]:
    """Create, start, and at the end stop and remove a server listening on 127.0.0.1:``port``."""
    bindir = server_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL's server programs (initdb, pg_ctl) are not installed: install them "
            "(Debian: postgresql) or set MEDIA_TEST_POSTGRES_BINDIR"
        )
    user = "postgres" if os.geteuid() == 0 else None
    home = Path(tempfile.mkdtemp(prefix="media-private-pg-"))
    if user:
        account = pwd.getpwnam(user)
        os.chown(home, account.pw_uid, account.pw_gid)
    server = PrivatePostgres(bindir, home / "data", port, user)
    try:
        server._run(
            str(bindir / "initdb"), "-D", str(server.data), "-U", "postgres", "--auth=trust"
        )
        server.pg_ctl("-o", server.options, "start")
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)
