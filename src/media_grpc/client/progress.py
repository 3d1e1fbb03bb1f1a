"""How an upload tells its progress: the CLI draws a bar, a library user may log."""

from __future__ import annotations


class Progress:
    """Told how an upload advances; the CLI draws a bar, a library user may log."""

    def start(self, total: int, done: int) -> None: ...

    def advance(self, n: int) -> None: ...

    def close(self) -> None: ...
