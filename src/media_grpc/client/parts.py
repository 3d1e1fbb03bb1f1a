"""The parts of a multipart upload: sent in parallel, each recorded in the resume state as
storage confirms it, with part URLs asked for in batches and asked for again when one expires."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

from media.v1 import media_pb2 as pb

from media_grpc.client.calls import call
from media_grpc.client.media_client import ClientError
from media_grpc.client.progress import Progress
from media_grpc.client.resume import StateFile, UploadState
from media_grpc.client.transfer import Transfer, UrlExpired

if TYPE_CHECKING:
    from media_grpc.client.media_client import MediaClient

log = logging.getLogger("media_grpc.client")

#: Part URLs asked for per GetUploadPartUrls call.
URL_BATCH = 100


def part_length(state: UploadState, number: int) -> int:
    start = (number - 1) * state.part_size
    return max(0, min(state.part_size, state.size_bytes - start))


def read_part(path: Path, offset: int, into: memoryview) -> memoryview:
    """The bytes of ``path`` from ``offset`` read into ``into``; shorter at the end of the file."""
    got = 0
    with path.open("rb", buffering=0) as f:
        f.seek(offset)
        while got < into.nbytes and (n := f.readinto(into[got:])):
            got += n
    return into[:got]


class PartSender:
    """Sends the parts of one multipart upload, ``parallel`` at a time.

    Memory: each sending thread reads its part into a buffer of its own, kept for its next
    part, so at most ``parallel`` x the part size is held, whatever the file's size.

    Parameters:
        urls: part URLs already known (CreateUploadSession gives the first ones).
    """

    def __init__(
        self,
        client: MediaClient,
        transfer: Transfer,
        progress: Progress,
        parallel: int,
        urls: dict[int, str],
    ) -> None:
        self.client = client
        self.transfer = transfer
        self.progress = progress
        self.parallel = parallel
        #: Part numbers this process sent (a resumed upload sends only the missing ones).
        self.sent_parts: list[int] = []
        self._urls = urls
        self._url_lock = threading.Lock()
        self._buffers = threading.local()

    def send(
        self, path: Path, state: UploadState, states: StateFile, already: dict[int, str]
    ) -> dict[int, str]:
        """Every part storage lacks; the ETag of every part by number."""
        etags = dict(already)
        state.parts = {str(n): e for n, e in already.items()}
        states.save(state)
        missing = [n for n in range(1, state.part_count + 1) if n not in already]
        with ThreadPoolExecutor(self.parallel, thread_name_prefix="part") as pool:
            futures = {pool.submit(self._send_part, path, state, states, n): n for n in missing}
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in done:
                if future.exception() is None:
                    number, etag = future.result()
                    etags[number] = etag
            for future in done:
                if (error := future.exception()) is not None:
                    raise ClientError(
                        f"part {futures[future]} could not be sent: {error}; "
                        "run the same command again to resume"
                    ) from error
        return etags

    def _send_part(
        self, path: Path, state: UploadState, states: StateFile, number: int
    ) -> tuple[int, str]:
        buffer = self._buffer(state.part_size)[: part_length(state, number)]
        data = read_part(path, (number - 1) * state.part_size, buffer)
        try:
            etag = self.transfer.put(self._url(state, number), data, {}, self.progress.advance)
        except UrlExpired:
            with self._url_lock:
                self._urls.pop(number, None)
            etag = self.transfer.put(self._url(state, number), data, {}, self.progress.advance)
        states.part_done(state, number, etag)
        self.sent_parts.append(number)
        log.info("part %d/%d sent", number, state.part_count)
        return number, etag

    def _buffer(self, size: int) -> memoryview:
        """This thread's part buffer, reused part after part."""
        buffer: memoryview | None = getattr(self._buffers, "view", None)
        if buffer is None or buffer.nbytes < size:
            buffer = self._buffers.view = memoryview(bytearray(size))
        return buffer[:size]

    def _url(self, state: UploadState, number: int) -> str:
        with self._url_lock:
            if number not in self._urls:
                wanted = [
                    n
                    for n in range(number, state.part_count + 1)
                    if n not in self._urls and str(n) not in state.parts
                ][:URL_BATCH]
                answer = call(
                    self.client,
                    self.client.stub.GetUploadPartUrls,
                    pb.GetUploadPartUrlsRequest(media_id=state.media_id, part_numbers=wanted),
                )
                self._urls.update({p.part_number: p.url for p in answer.part_urls})
            return self._urls[number]
