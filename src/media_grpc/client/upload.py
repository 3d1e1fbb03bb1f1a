"""The whole upload as a real client does it: session, single or parallel multipart PUTs,
retries, resume after an interruption, completion, then following the media to READY."""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from media.v1 import media_pb2 as pb

from media_grpc.client.calls import call
from media_grpc.client.content_types import (
    declared_type,
    declared_type_and_sha256,
    guess_content_type,
)
from media_grpc.client.hashing import file_sha256
from media_grpc.client.media_client import ClientError
from media_grpc.client.parts import PartSender, part_length
from media_grpc.client.progress import Progress
from media_grpc.client.resume import StateFile, UploadState, state_path
from media_grpc.client.transfer import RateLimiter, Transfer

if TYPE_CHECKING:
    from media_grpc.client.media_client import MediaClient

__all__ = ["Progress", "Uploader", "guess_content_type"]

log = logging.getLogger("media_grpc.client")

#: Refusals after which the session can never complete (the media is FAILED or gone, or the
#: request can never be right); any other error keeps the state, so that a re-run resumes.
REFUSED_FOR_GOOD = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)


class Uploader:
    """One upload through ``client``.

    Parameters:
        content_type: declared type (default: guessed from the file name).
        parallel: parts in flight at once (multipart uploads).
        limit_rate: bytes per second for all parts together (None: unlimited).
        wait: follow the media to READY/FAILED after completion.
        wait_timeout: seconds to follow it.
        progress: told of every byte sent.
        attempts: tries per PUT on network errors and 5xx, with exponential backoff.
        hash_while_sending_bytes: files at least this large are hashed while they are sent
            and their sha256 given to CompleteUpload (smaller: declared to CreateUploadSession).
            None (the default): every file is hashed before the transfer, in the read that
            checks its type, and its sha256 declared, so that a file its owner already has
            READY is not sent at all (the answer is a new READY media sharing the stored one).
    """

    def __init__(
        self,
        client: MediaClient,
        *,
        content_type: str | None = None,
        parallel: int = 4,
        limit_rate: float | None = None,
        wait: bool = True,
        wait_timeout: float = 600.0,
        progress: Progress | None = None,
        attempts: int = 5,
        hash_while_sending_bytes: int | None = None,
    ) -> None:
        self.client = client
        self.content_type = content_type
        self.parallel = max(1, parallel)
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.progress = progress or Progress()
        self.transfer = Transfer(attempts=attempts, limiter=RateLimiter(limit_rate))
        self.hash_while_sending_bytes = hash_while_sending_bytes
        self.parts = PartSender(client, self.transfer, self.progress, self.parallel, urls={})
        self._single_put: pb.SinglePutUpload | None = None
        #: The media of a dedupe hit: nothing was sent.
        self.deduplicated: pb.Media | None = None

    @property
    def sent_parts(self) -> list[int]:
        """Part numbers this process sent (a resumed upload sends only the missing ones)."""
        return self.parts.sent_parts

    def upload(self, path: Path, purpose: pb.Purpose.ValueType) -> pb.Media:
        if not path.is_file():
            raise ClientError(f"{path} is not a file")
        states = StateFile(state_path(path))
        purpose_name = pb.Purpose.Name(purpose)
        state = states.load()
        media: pb.Media | None = None
        try:
            if state is not None and state.matches(self.client.address, path, purpose_name):
                log.info("resuming the upload of media %s", state.media_id)
                media = self._resume(path, state, states)
            if media is None:
                state = self._create(path, purpose, states)
                media = self.deduplicated or self._send_and_complete(
                    path, state, states, already={}
                )
        except ClientError as error:
            if error.code in REFUSED_FOR_GOOD:
                states.remove()  # this session can never complete: a re-run starts afresh
            raise
        states.remove()
        if self.wait and media.status not in (pb.STATUS_READY, pb.STATUS_FAILED):
            media = self.client.wait(media.id, timeout=self.wait_timeout)
        return media

    def _create(self, path: Path, purpose: pb.Purpose.ValueType, states: StateFile) -> UploadState:
        size = path.stat().st_size
        request = pb.CreateUploadSessionRequest(
            purpose=purpose,
            file_name=path.name,
            size_bytes=size,
            idempotency_key=uuid.uuid4().hex,
        )
        declared = self.hash_while_sending_bytes is None or size < self.hash_while_sending_bytes
        if declared:
            request.content_type, request.sha256 = declared_type_and_sha256(path, self.content_type)
        else:
            request.content_type = declared_type(path, self.content_type)
        session = call(self.client, self.client.stub.CreateUploadSession, request)
        state = UploadState(
            address=self.client.address,
            media_id=session.media_id,
            size_bytes=size,
            mtime_ns=path.stat().st_mtime_ns,
            purpose=pb.Purpose.Name(purpose),
            sha256_declared=declared,
        )
        if session.deduplicated:
            log.info("media %s: the owner has these bytes already; nothing sent", session.media_id)
            self.deduplicated = session.media
            return state
        if session.WhichOneof("upload") == "multipart":
            multipart = session.multipart
            state.upload_id = multipart.upload_id
            state.part_size = int(multipart.part_size)
            state.part_count = int(multipart.part_count)
            self.parts = PartSender(
                self.client,
                self.transfer,
                self.progress,
                self.parallel,
                urls={p.part_number: p.url for p in multipart.part_urls},
            )
        else:
            self._single_put = session.single_put
        states.save(state)
        log.info(
            "media %s: %s upload of %d bytes",
            state.media_id,
            f"{state.part_count}-part" if state.part_count else "single",
            size,
        )
        return state

    def _resume(self, path: Path, state: UploadState, states: StateFile) -> pb.Media | None:
        """Carry on with the parts storage lacks; None when the session is gone (start over)."""
        if not state.part_count:
            return None  # a single PUT cannot be resumed: send the file again
        try:
            listed = call(
                self.client,
                self.client.stub.ListUploadedParts,
                pb.ListUploadedPartsRequest(media_id=state.media_id),
            )
        except ClientError:
            current = self._current(state.media_id)
            if current is not None and current.status in (
                pb.STATUS_UPLOADED,
                pb.STATUS_PROCESSING,
                pb.STATUS_READY,
            ):
                return current  # completed before the interruption
            log.info("media %s cannot be resumed; starting a new upload", state.media_id)
            states.remove()
            return None
        already = {
            p.part_number: p.etag
            for p in listed.parts
            if p.size_bytes == part_length(state, p.part_number)
        }
        log.info("storage holds %d of %d parts", len(already), state.part_count)
        return self._send_and_complete(path, state, states, already=already)

    def _send_and_complete(
        self, path: Path, state: UploadState, states: StateFile, *, already: dict[int, str]
    ) -> pb.Media:
        self.progress.start(state.size_bytes, sum(part_length(state, n) for n in already))
        hasher, stop = ThreadPoolExecutor(1, thread_name_prefix="sha256"), threading.Event()
        # hashlib releases the GIL on large buffers: the file is hashed while it is sent.
        digest = None if state.sha256_declared else hasher.submit(file_sha256, path, stop)
        try:
            if state.part_count:
                etags = self.parts.send(path, state, states, already)
                request = pb.CompleteUploadRequest(
                    media_id=state.media_id,
                    parts=[
                        pb.CompletedPart(part_number=n, etag=e) for n, e in sorted(etags.items())
                    ],
                )
            else:
                put = self._single_put
                assert put is not None
                self.transfer.put(put.url, path.read_bytes(), put.headers, self.progress.advance)
                request = pb.CompleteUploadRequest(media_id=state.media_id)
            if digest is not None:
                request.sha256 = digest.result()
        finally:
            stop.set()  # a failed transfer does not wait for the hash of the whole file
            hasher.shutdown(cancel_futures=True)
            self.progress.close()
        answer: pb.CompleteUploadResponse = call(
            self.client, self.client.stub.CompleteUpload, request
        )
        return answer.media

    def _current(self, media_id: str) -> pb.Media | None:
        try:
            return self.client.get(media_id)
        except grpc.RpcError:
            return None
