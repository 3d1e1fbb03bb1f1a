"""A fetched body as a file storage can read: capped in size, with its first bytes on view."""

from __future__ import annotations

from collections.abc import Iterator

from media_grpc.domain.imports import ImportReason, ImportRefused
from media_grpc.domain.sizes import human_size


class CappedStream:
    """``read(n)`` returns exactly ``n`` bytes until the end (multipart uploads need full
    parts); more than ``max_bytes`` in all raises TOO_LARGE, whatever Content-Length said."""

    def __init__(self, chunks: Iterator[bytes], max_bytes: int) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._ended = False
        self.max_bytes = max_bytes
        #: Bytes received from the source so far.
        self.received = 0

    def peek(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer at the end), left to be read."""
        self._fill(size)
        return bytes(self._buffer[:size])

    def read(self, size: int = -1) -> bytes:
        self._fill(size)
        if size < 0 or size >= len(self._buffer):
            out = bytes(self._buffer)
            self._buffer.clear()
            return out
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def _fill(self, size: int) -> None:
        while not self._ended and (size < 0 or len(self._buffer) < size):
            chunk = next(self._chunks, b"")
            if not chunk:
                self._ended = True
                return
            self.received += len(chunk)
            if self.received > self.max_bytes:
                raise ImportRefused(
                    ImportReason.TOO_LARGE,
                    f"the file is over the {human_size(self.max_bytes)} limit of its purpose",
                )
            self._buffer.extend(chunk)
