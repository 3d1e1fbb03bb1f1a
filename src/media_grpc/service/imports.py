"""ImportMedia and ResolveLegacyUrl: bring files home from the upload service this replaces.

The server fetches the legacy URL (``adapters/url_fetcher.py`` keeps it to allowlisted hosts
and public addresses), streams it into storage under a new media's key, checks it as
CompleteUpload does (size limit of the purpose, sniffed type) and, in one transaction, records
the media UPLOADED, queues its processing and marks the import done. The import record makes
it idempotent: the same key returns the same media; a failed import is tried again; an import
whose server died mid-fetch is taken over once its lease has run out.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from media_grpc.adapters.blob_storage import BlobStorageUnavailable
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.adapters.url_fetcher import UrlFetcher
from media_grpc.config.imports import ImportSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain import keys, lifecycle
from media_grpc.domain.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    MediaNotFound,
    ResourceExhausted,
    Unavailable,
    check_at_most,
)
from media_grpc.domain.file_names import sanitize_file_name
from media_grpc.domain.ids import check_owner_id, check_post_id
from media_grpc.domain.imports import (
    MAX_URL_CHARS,
    ImportReason,
    ImportRecord,
    ImportRefused,
    ImportState,
    import_key,
)
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import Media, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.domain.sizes import human_size
from media_grpc.domain.sniffing import SNIFF_BYTES, sniff
from media_grpc.service.context import ServiceContext
from media_grpc.service.import_stream import CappedStream
from media_grpc.service.upload_policy import policy_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportRequest:
    url: str
    owner_id: str
    purpose: Purpose
    post_id: str = ""
    post_position: int = 0
    #: Empty: the URL itself.
    idempotency_key: str = ""
    #: Check the URL against the policy only.
    validate_only: bool = False


@dataclass(frozen=True)
class ImportResult:
    media: Media | None
    #: False when an earlier import of the same key was returned.
    created: bool


@dataclass(eq=False)
class MediaImports:
    ctx: ServiceContext
    fetcher: UrlFetcher
    #: The upload limits an imported file is held to, as an uploaded one.
    uploads: UploadSettings
    settings: ImportSettings
    #: One per import fetching at a time (``settings.max_concurrent``).
    slots: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self.slots = threading.BoundedSemaphore(self.settings.max_concurrent)

    def import_media(self, principal: Principal, request: ImportRequest) -> ImportResult:
        principal.require_service("ImportMedia")
        _check(request)
        self.fetcher.check(request.url)
        if request.validate_only:
            return ImportResult(media=None, created=False)
        if not self.slots.acquire(blocking=False):
            raise ResourceExhausted(
                f"this server is already running {self.settings.max_concurrent} imports; "
                "retry shortly",
                retry_after_seconds=2.0,
            )
        try:
            return self._import(request)
        finally:
            self.slots.release()

    def _import(self, request: ImportRequest) -> ImportResult:
        record, earlier = self._claim(request)
        if earlier is not None:
            return ImportResult(media=earlier, created=False)
        try:
            media = self._fetch_and_record(request, record)
        except ImportRefused as e:
            self._fail(record, e.import_reason.value, e.message)
            raise
        except BlobStorageUnavailable:
            self._fail(record, ImportReason.UNREACHABLE.value, "object storage is unavailable")
            raise Unavailable("object storage is unavailable; import again later") from None
        log.info("import of %s stored as media %s", request.url[:200], media.id)
        return ImportResult(media=media, created=True)

    def resolve(self, principal: Principal, url: str) -> Media:
        """The media imported from ``url`` (exactly as it was given to ImportMedia)."""
        principal.require_service("ResolveLegacyUrl")
        with self.ctx.uow() as uow:
            record = uow.imports.find_by_url(url)
            media = uow.media.get(record.media_id) if record is not None else None
        if media is None:
            raise MediaNotFound(f"no media was imported from {url[:200]!r}")
        return media

    def _claim(self, request: ImportRequest) -> tuple[ImportRecord, Media | None]:
        """This call's import record (FETCHING under a lease), or the earlier import's media."""
        now = self.ctx.now()
        lease = now + timedelta(
            seconds=self.settings.total_timeout_seconds + self.settings.takeover_margin_seconds
        )
        fresh = ImportRecord(
            key=import_key(request.idempotency_key or request.url),
            source_url=request.url,
            owner_id=request.owner_id,
            purpose=request.purpose,
            state=ImportState.FETCHING,
            media_id=self.ctx.new_id(),
            attempts=1,
            lease_until=lease,
            created_at=now,
            updated_at=now,
            post_id=request.post_id or None,
            post_position=request.post_position,
        )
        with self.ctx.uow() as uow:
            if request.post_id:
                _check_post_owner(uow, request.post_id, request.owner_id)
            if uow.imports.add_if_absent(fresh):
                uow.commit()
                return fresh, None
            record = uow.imports.get(fresh.key, for_update=True)
            assert record is not None
            _check_same(record, request)
            if record.state is ImportState.IMPORTED:
                earlier = uow.media.get(record.media_id)
                if earlier is not None:
                    return record, earlier
            elif record.state is ImportState.FETCHING and record.lease_until > now:
                raise Conflict(
                    f"an import of this URL is in progress (attempt {record.attempts}); "
                    "call again once it has finished"
                )
            taken = replace(
                record,
                state=ImportState.FETCHING,
                media_id=fresh.media_id,
                attempts=record.attempts + 1,
                lease_until=lease,
                updated_at=now,
                post_id=fresh.post_id,
                post_position=fresh.post_position,
                reason=None,
                message=None,
            )
            uow.imports.save(taken)
            uow.commit()
            return taken, None

    def _fetch_and_record(self, request: ImportRequest, record: ImportRecord) -> Media:
        policy = policy_for(self.uploads, request.purpose)
        with self.fetcher.open(request.url) as body:
            if body.declared_length is not None and body.declared_length > policy.max_bytes:
                raise _too_large(policy.max_bytes)
            stream = CappedStream(body.chunks, policy.max_bytes)
            head = stream.peek(SNIFF_BYTES)
            if not head:
                raise ImportRefused(ImportReason.EMPTY, "the legacy URL served an empty file")
            sniffed = sniff(head)
            if sniffed is None or sniffed not in policy.allowed_types:
                raise ImportRefused(
                    ImportReason.UNSUPPORTED_FORMAT,
                    f"the file is {sniffed or 'not a known image or video format'}; "
                    f"{request.purpose.value} accepts {', '.join(policy.allowed_types)}",
                )
            now = self.ctx.now()
            key = keys.original_key(
                request.purpose, request.owner_id, record.media_id, sniffed, now
            )
            try:
                info = self.ctx.storage.upload_stream(stream, key, content_type=sniffed)
            except BaseException:
                self._discard(key)
                raise
        media = Media(
            id=record.media_id,
            owner_id=request.owner_id,
            purpose=request.purpose,
            status=Status.PENDING,
            storage_key=key,
            file_name=_file_name(body.url),
            declared_content_type=sniffed,
            size_bytes=info.size,
            created_at=now,
            updated_at=now,
            expires_at=now,
            post_id=request.post_id or None,
            post_position=request.post_position,
        )
        lifecycle.mark_uploaded(
            media, etag=info.etag, version_id=info.version_id, mime_type=sniffed, now=now
        )
        if not self._record(record, media, now):
            self._discard(key)
            raise Conflict("another call took this import over; call again to get its media")
        return media

    def _record(self, record: ImportRecord, media: Media, now: datetime) -> bool:
        """Media UPLOADED, its job queued and the import done, together; False when another
        call took the import over meanwhile (this one outlived its lease)."""
        with self.ctx.uow() as uow:
            current = uow.imports.get(record.key, for_update=True)
            if current is None or current.media_id != record.media_id:
                return False
            if media.post_id:
                _check_post_owner(uow, media.post_id, media.owner_id)
            uow.media.add(media)
            uow.outbox.add(ProcessingJob.for_media(self.ctx.new_id(), media, now))
            uow.imports.save(replace(current, state=ImportState.IMPORTED, updated_at=now))
            uow.commit()
        return True

    def _fail(self, record: ImportRecord, reason: str, message: str) -> None:
        with self.ctx.uow() as uow:
            current = uow.imports.get(record.key, for_update=True)
            if current is None or current.media_id != record.media_id:
                return
            failed = replace(
                current,
                state=ImportState.FAILED,
                reason=reason,
                message=message,
                updated_at=self.ctx.now(),
            )
            uow.imports.save(failed)
            uow.commit()

    def _discard(self, key: str) -> None:
        try:
            self.ctx.storage.delete([key])
        except BlobStorageUnavailable as e:
            log.warning("import: %s left for the cleanup: %s", key, e)


def _check(request: ImportRequest) -> None:
    if not request.url or len(request.url) > MAX_URL_CHARS:
        raise InvalidArgument(
            f"url must be 1 to {MAX_URL_CHARS} characters",
            field="url",
            limit=f"{MAX_URL_CHARS} characters",
            value=str(len(request.url)),
        )
    if any(ord(c) < 32 for c in request.url + request.idempotency_key):
        raise InvalidArgument("url and idempotency_key must not contain control characters")
    if not request.owner_id:
        raise InvalidArgument(
            "owner_id is required: the user the media belongs to", field="owner_id"
        )
    check_owner_id(request.owner_id)
    if request.post_id:
        check_post_id(request.post_id)
    check_at_most(
        len(request.idempotency_key),
        MAX_URL_CHARS,
        field="idempotency_key",
        message="idempotency_key must be at most {limit} characters",
    )
    if request.post_position < 0:
        raise InvalidArgument(
            "post_position must be 0 or more",
            field="post_position",
            value=str(request.post_position),
        )


def _check_same(record: ImportRecord, request: ImportRequest) -> None:
    if (record.source_url, record.owner_id, record.purpose) != (
        request.url,
        request.owner_id,
        request.purpose,
    ):
        raise AlreadyExists(
            "this idempotency key was used for another import (URL, owner or purpose differ); "
            "use a new key for a different import"
        )


def _check_post_owner(uow: AbstractUnitOfWork, post_id: str, owner_id: str) -> None:
    others = {m.owner_id for m in uow.media.find_by_post(post_id)} - {owner_id}
    if others:
        raise FailedPrecondition(
            f"post {post_id[:128]!r} holds media of another owner; a post belongs to one owner"
        )


def _file_name(url: str) -> str:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return sanitize_file_name(name or "imported")


def _too_large(max_bytes: int) -> ImportRefused:
    return ImportRefused(
        ImportReason.TOO_LARGE, f"the file is over the {human_size(max_bytes)} limit of its purpose"
    )
