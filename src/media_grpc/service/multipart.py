"""Multipart sessions: start one in storage, presign its parts, list them, assemble them."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from media_grpc.adapters.blob_storage import BlobNotFound, PresignedRequest, StoredPart
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain.errors import FailedPrecondition, InvalidArgument
from media_grpc.domain.model import Failure, FailureReason, Media, MultipartSession, Status
from media_grpc.domain.parts import expected_part_size, format_numbers, plan_parts
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext

#: Most part URLs one GetUploadPartUrls call presigns.
MAX_PART_URLS_PER_CALL = 1000
#: First and longest pause between two HEADs while waiting for an assembled object.
_FIRST_PAUSE, _LONGEST_PAUSE = 0.02, 0.25


@dataclass(frozen=True)
class PartUrl:
    """A presigned PUT for one part, and when it stops working."""

    part_number: int
    request: PresignedRequest
    expires_at: datetime


class MultipartUploads:
    def __init__(self, ctx: ServiceContext, settings: UploadSettings) -> None:
        self.ctx = ctx
        self.settings = settings

    def start(self, key: str, content_type: str, size: int) -> MultipartSession:
        """Plan the parts and create the multipart upload in storage."""
        part_size, part_count = plan_parts(size, self.settings.part_size_bytes)
        upload_id = self.ctx.storage.create_multipart_upload(key, content_type=content_type)
        return MultipartSession(upload_id=upload_id, part_size=part_size, part_count=part_count)

    def abandon(self, key: str, session: MultipartSession) -> None:
        self.ctx.storage.abort_multipart_upload(key, session.upload_id)

    def initial_urls(self, media: Media) -> list[PartUrl]:
        assert media.multipart is not None
        count = min(self.settings.initial_part_urls, media.multipart.part_count)
        return self._presign(media, list(range(1, count + 1)))

    def part_urls(self, principal: Principal, media_id: str, numbers: list[int]) -> list[PartUrl]:
        """Fresh URLs for the given parts of a PENDING multipart session."""
        media = self._pending_multipart(principal, media_id)
        assert media.multipart is not None
        if media.expires_at <= self.ctx.now():
            raise FailedPrecondition(
                f"the upload session of media {media_id} expired at "
                f"{media.expires_at.isoformat()}; start a new session"
            )
        _check_part_numbers(numbers, media.multipart.part_count)
        return self._presign(media, sorted(set(numbers)))

    def uploaded_parts(
        self, principal: Principal, media_id: str
    ) -> tuple[MultipartSession, list[StoredPart]]:
        """The session's plan and the parts storage holds now."""
        media = self._pending_multipart(principal, media_id)
        assert media.multipart is not None
        try:
            parts = self.ctx.storage.list_parts(media.storage_key, media.multipart.upload_id)
        except BlobNotFound:
            raise FailedPrecondition(
                f"the multipart upload of media {media_id} no longer exists in storage "
                "(completed, aborted or expired)"
            ) from None
        return media.multipart, parts

    def assemble(self, media: Media, declared: list[tuple[int, str]]) -> Failure | None:
        """Check every declared part against storage, then CompleteMultipartUpload.

        Client mistakes that can be put right (a missing part, a wrong ETag, a part of the wrong
        size) raise InvalidArgument or FailedPrecondition and leave the session open. Returns a
        Failure only when the session can never complete: the upload is gone from storage.
        """
        session = media.multipart
        assert session is not None
        _check_declared_parts(declared, session.part_count)
        try:
            stored = self.ctx.storage.list_parts(media.storage_key, session.upload_id)
        except BlobNotFound:
            return self._gone(media)
        by_number = {p.part_number: p for p in stored}
        _check_stored(media, session, dict(declared), by_number)
        try:
            self.ctx.storage.complete_multipart_upload(
                media.storage_key,
                session.upload_id,
                [(n, by_number[n].etag) for n in range(1, session.part_count + 1)],
            )
        except BlobNotFound:
            return self._gone(media)  # a completion on another server assembled it meanwhile
        return None

    def _gone(self, media: Media) -> Failure | None:
        """No upload in storage: a concurrent completion assembled it (or is assembling it:
        the object may appear a moment after the upload went), or it was aborted.

        Waits up to ``assembly_grace_seconds`` for the object before calling it missing, since
        that verdict fails the media and empties its key (a valid upload would be lost)."""
        deadline = time.monotonic() + self.settings.assembly_grace_seconds
        pause = _FIRST_PAUSE
        while True:
            try:
                self.ctx.storage.head(media.storage_key)
                return None
            except BlobNotFound:
                left = deadline - time.monotonic()
                if left <= 0:
                    return Failure(
                        FailureReason.OBJECT_MISSING,
                        f"the multipart upload of media {media.id} no longer exists in storage "
                        "and nothing was assembled (aborted or expired)",
                    )
            time.sleep(min(pause, left))
            pause = min(pause * 2, _LONGEST_PAUSE)

    def _pending_multipart(self, principal: Principal, media_id: str) -> Media:
        media = self.ctx.load_visible(principal, media_id)
        if media.multipart is None:
            raise FailedPrecondition(f"media {media_id} has a single-PUT session; it has no parts")
        if media.status is not Status.PENDING:
            raise FailedPrecondition(
                f"media {media_id} is {media.status.value}; parts exist only while it is PENDING"
            )
        return media

    def _presign(self, media: Media, numbers: list[int]) -> list[PartUrl]:
        assert media.multipart is not None
        now = self.ctx.now()
        left = int((media.expires_at - now).total_seconds())
        ttl = max(1, min(self.settings.url_ttl_seconds, left))
        expires_at = now + timedelta(seconds=ttl)
        return [
            PartUrl(
                n,
                self.ctx.storage.presign_upload_part(
                    media.storage_key,
                    media.multipart.upload_id,
                    n,
                    expires_in=ttl,
                    content_length=expected_part_size(media.multipart, n, media.size_bytes),
                ),
                expires_at,
            )
            for n in numbers
        ]


def _check_part_numbers(numbers: list[int], part_count: int) -> None:
    if not numbers or len(numbers) > MAX_PART_URLS_PER_CALL:
        raise InvalidArgument(
            f"part_numbers must name 1 to {MAX_PART_URLS_PER_CALL} parts",
            field="part_numbers",
            limit=f"1..{MAX_PART_URLS_PER_CALL} entries",
            value=str(len(numbers)),
        )
    outside = sorted({n for n in numbers if not 1 <= n <= part_count})
    if outside:
        raise InvalidArgument(
            f"part numbers {format_numbers(outside)} are outside 1..{part_count}",
            field="part_numbers",
            limit=f"1..{part_count}",
            value=format_numbers(outside),
        )


def _check_declared_parts(declared: list[tuple[int, str]], part_count: int) -> None:
    numbers = [n for n, _ in declared]
    expected = set(range(1, part_count + 1))
    if len(numbers) != len(set(numbers)) or set(numbers) != expected:
        missing = sorted(expected - set(numbers))
        extra = sorted(set(numbers) - expected)
        twice = sorted(n for n, times in Counter(numbers).items() if times > 1)
        problems = [
            f"missing {format_numbers(missing)}" if missing else "",
            f"outside the plan {format_numbers(extra)}" if extra else "",
            f"repeated {format_numbers(twice)}" if twice else "",
        ]
        raise InvalidArgument(
            f"parts must list every part 1..{part_count} once with its ETag: "
            + "; ".join(p for p in problems if p),
            field="parts",
            limit=f"parts 1..{part_count}, each once",
            value=f"{len(numbers)} parts",
        )


def _check_stored(
    media: Media,
    session: MultipartSession,
    declared: dict[int, str],
    stored: dict[int, StoredPart],
) -> None:
    missing = [n for n in range(1, session.part_count + 1) if n not in stored]
    if missing:
        raise FailedPrecondition(
            f"storage holds no part {format_numbers(missing)} of media {media.id}; upload "
            "them (GetUploadPartUrls) and complete again"
        )
    wrong_etag = [n for n, etag in sorted(declared.items()) if _bare(etag) != _bare(stored[n].etag)]
    if wrong_etag:
        raise FailedPrecondition(
            f"the ETag given for part {format_numbers(wrong_etag)} differs from the one storage "
            "holds; send each part's ETag as its PUT returned it (ListUploadedParts shows them)"
        )
    wrong_size = [
        n
        for n in range(1, session.part_count + 1)
        if stored[n].size != expected_part_size(session, n, media.size_bytes)
    ]
    if wrong_size:
        n = wrong_size[0]
        raise FailedPrecondition(
            f"part {format_numbers(wrong_size)} of media {media.id} has the wrong size (part {n} "
            f"holds {stored[n].size} bytes, expected "
            f"{expected_part_size(session, n, media.size_bytes)}); upload it again"
        )


def _bare(etag: str) -> str:
    return etag.strip().strip('"')
