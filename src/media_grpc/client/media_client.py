"""MediaClient: the media.v1 API as a Python object (what the `media-grpc` client commands use)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Self

import grpc
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc

from media_grpc.client.retry_policy import channel_options
from media_grpc.domain.token_shape import malformed

#: Statuses after which a media no longer changes on its own.
FINAL_STATUSES = frozenset({pb.STATUS_READY, pb.STATUS_FAILED, pb.STATUS_DELETED})
#: WatchMedia errors after which polling GetMedia is the way to follow a media.
_NO_WATCH_CODES = frozenset({grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.FAILED_PRECONDITION})
#: Seconds before watching again after the first UNAVAILABLE of a stream.
FIRST_RECONNECT_BACKOFF = 0.2
#: Longest wait, in seconds, between two attempts to watch again while the server is away.
RECONNECT_MAX_BACKOFF = 2.0


class ClientError(Exception):
    """What went wrong, in words for the person at the terminal; ``code`` is the server's
    status when the server refused."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


def parse_purpose(value: str) -> pb.Purpose.ValueType:
    """``post_image``, ``POST_IMAGE`` or ``PURPOSE_POST_IMAGE``."""
    name = value.upper().removeprefix("PURPOSE_")
    try:
        return pb.Purpose.Value(f"PURPOSE_{name}")
    except ValueError:
        raise ClientError(
            f"unknown purpose {value!r}: use post_image, post_video or profile_image"
        ) from None


def parse_status(value: str) -> pb.Status.ValueType:
    try:
        return pb.Status.Value(f"STATUS_{value.upper().removeprefix('STATUS_')}")
    except ValueError:
        raise ClientError(f"unknown status {value!r}") from None


class MediaClient:
    """A channel to a media-grpc server with a bearer token.

    ``tls`` uses the system roots unless ``root_certificates`` (PEM bytes) are given.
    """

    def __init__(
        self,
        address: str,
        token: str,
        *,
        tls: bool = False,
        root_certificates: bytes | None = None,
        timeout: float = 30.0,
    ) -> None:
        if problem := malformed(token):
            raise ClientError(problem)
        self.address = address
        self.token = token
        self.timeout = timeout
        if tls or root_certificates:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self.channel = grpc.secure_channel(address, credentials, options=channel_options())
        else:
            self.channel = grpc.insecure_channel(address, options=channel_options())
        self.stub = media_pb2_grpc.MediaServiceStub(self.channel)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The token, and a fresh request id that the server's logs will show."""
        return (("authorization", f"Bearer {self.token}"), ("x-request-id", uuid.uuid4().hex))

    def get(self, media_id: str) -> pb.Media:
        answer = self.stub.GetMedia(
            pb.GetMediaRequest(media_id=media_id), metadata=self.metadata(), timeout=self.timeout
        )
        return answer.media

    def list(
        self,
        *,
        status: pb.Status.ValueType = pb.STATUS_UNSPECIFIED,
        purpose: pb.Purpose.ValueType = pb.PURPOSE_UNSPECIFIED,
        owner_id: str = "",
        limit: int | None = None,
        page_size: int = 50,
    ) -> Iterator[pb.Media]:
        """The caller's media (or ``owner_id``'s, for a service), newest first, page by page."""
        token = ""
        count = 0
        while True:
            page = self.stub.ListMedia(
                pb.ListMediaRequest(
                    owner_id=owner_id,
                    status=status,
                    purpose=purpose,
                    page_size=page_size,
                    page_token=token,
                ),
                metadata=self.metadata(),
                timeout=self.timeout,
            )
            for media in page.media:
                yield media
                count += 1
                if limit is not None and count >= limit:
                    return
            token = page.next_page_token
            if not token:
                return

    def events(
        self,
        *,
        media_id: str = "",
        owner_id: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[pb.MediaEvent]:
        """The audit trail (service tokens only), oldest first, page by page."""
        request = pb.ListMediaEventsRequest(
            media_id=media_id, owner_id=owner_id, page_size=page_size
        )
        if since is not None:
            request.start_time.FromDatetime(since)
        if until is not None:
            request.end_time.FromDatetime(until)
        count = 0
        while True:
            page = self.stub.ListMediaEvents(
                request, metadata=self.metadata(), timeout=self.timeout
            )
            for event in page.events:
                yield event
                count += 1
                if limit is not None and count >= limit:
                    return
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    def watch(
        self,
        media_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        max_backoff: float = RECONNECT_MAX_BACKOFF,
    ) -> Iterator[pb.Media]:
        """The media now and at each status change, until a final status (or ``timeout``
        seconds: ClientError).

        Follows WatchMedia. When the stream breaks with UNAVAILABLE (a server restarting, a
        connection cut) it watches again, waiting from 0.2 s doubling up to ``max_backoff``
        seconds (from 0.2 s again once a stream answered); when the server ends a long stream
        it watches again after ``poll_interval``. The first message of every stream is the
        media as it is then, so no change is lost: a status that came and went while
        disconnected shows as the one it led to. Where the server cannot stream (UNIMPLEMENTED,
        FAILED_PRECONDITION: an older server) it polls GetMedia instead."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last: pb.Media | None = None
        backoff = FIRST_RECONNECT_BACKOFF
        streaming = True
        while streaming and (last is None or last.status not in FINAL_STATUSES):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise _still(media_id, last, timeout)
            try:
                stream = self.stub.WatchMedia(
                    pb.WatchMediaRequest(media_id=media_id), metadata=self.metadata(), timeout=left
                )
                for answer in stream:
                    backoff = FIRST_RECONNECT_BACKOFF
                    if last is None or answer.media.status != last.status:
                        yield answer.media
                    last = answer.media
                if last is None or last.status not in FINAL_STATUSES:
                    time.sleep(poll_interval)  # the server ended the stream early: open anew
            except grpc.RpcError as e:
                code = e.code()  # type: ignore[attr-defined]
                if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise _still(media_id, last, timeout) from None
                if code is grpc.StatusCode.UNAVAILABLE:
                    time.sleep(backoff if left is None else max(0.0, min(backoff, left)))
                    backoff = min(backoff * 2, max_backoff)
                    continue
                if code not in _NO_WATCH_CODES:
                    raise
                streaming = False
        while last is None or last.status not in FINAL_STATUSES:
            if deadline is not None and time.monotonic() > deadline:
                raise _still(media_id, last, timeout)
            current = self.get(media_id)
            if last is None or current.status != last.status:
                yield current
            last = current
            if last.status not in FINAL_STATUSES:
                time.sleep(poll_interval)

    def wait(self, media_id: str, *, timeout: float = 600.0) -> pb.Media:
        """The media once it reaches a final status; ClientError after ``timeout`` seconds."""
        last: pb.Media | None = None
        for media in self.watch(media_id, timeout=timeout):
            last = media
        assert last is not None
        return last

    def import_media(
        self,
        url: str,
        owner_id: str,
        purpose: pb.Purpose.ValueType,
        *,
        post_id: str = "",
        post_position: int = 0,
        validate_only: bool = False,
        timeout: float = 900.0,
    ) -> pb.ImportMediaResponse:
        """ImportMedia (a service token): the server fetches ``url`` and stores it as a media."""
        request = pb.ImportMediaRequest(
            url=url,
            owner_id=owner_id,
            purpose=purpose,
            post_id=post_id,
            post_position=post_position,
            validate_only=validate_only,
        )
        answer: pb.ImportMediaResponse = self.stub.ImportMedia(
            request, metadata=self.metadata(), timeout=timeout
        )
        return answer

    def resolve_legacy_url(self, url: str) -> pb.Media:
        answer = self.stub.ResolveLegacyUrl(
            pb.ResolveLegacyUrlRequest(url=url), metadata=self.metadata(), timeout=self.timeout
        )
        return answer.media

    def upload(self, path: Path, purpose: pb.Purpose.ValueType, **options: object) -> pb.Media:
        """Upload a file, resuming an interrupted upload of it; see ``Uploader``."""
        from media_grpc.client.upload import Uploader

        return Uploader(self, **options).upload(path, purpose)  # type: ignore[arg-type]


def _still(media_id: str, last: pb.Media | None, timeout: float | None) -> ClientError:
    status = pb.Status.Name(last.status).removeprefix("STATUS_") if last else "not seen"
    return ClientError(f"media {media_id} is still {status} after {timeout:.0f}s")
