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
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from media_grpc.adapters.blob_storage import BlobStorageUnavailable
from media_grpc.adapters.url_fetcher import UrlFetcher
from media_grpc.config.imports import ImportSettings
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain import keys, lifecycle
from media_grpc.domain.errors import (
    Conflict,
    InvalidArgument,
    MediaNotFound,
    ResourceExhausted,
    Unavailable,
)
from media_grpc.domain.file_names import sanitize_file_name
from media_grpc.domain.imports import (
    ImportReason,
    ImportRecord,
    ImportRefused,
)
from media_grpc.domain.model import Media, Status
from media_grpc.domain.principal import Principal
from media_grpc.domain.sizes import human_size
from media_grpc.domain.sniffing import SNIFF_BYTES, sniff
from media_grpc.service.context import ServiceContext
from media_grpc.service.import_records import claim_import, record_failed, record_imported
from media_grpc.service.import_requests import ImportRequest, ImportResult, check_import_request
from media_grpc.service.import_stream import CappedStream
from media_grpc.service.upload_policy import policy_for

log = logging.getLogger(__name__)


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
        check_import_request(request)
        try:
            self.fetcher.check(request.url)
        except ImportRefused as e:
            if e.import_reason is ImportReason.INVALID_URL:
                raise InvalidArgument(e.message, field="url") from None
            raise
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
        record, earlier = claim_import(self.ctx, self.settings, request)
        if earlier is not None:
            return ImportResult(media=earlier, created=False)
        try:
            media = self._fetch_and_record(request, record)
        except ImportRefused as e:
            record_failed(self.ctx, record, e.import_reason.value, e.message)
            raise
        except BlobStorageUnavailable:
            record_failed(
                self.ctx, record, ImportReason.UNREACHABLE.value, "object storage is unavailable"
            )
            raise Unavailable("object storage is unavailable; import again later") from None
        except Exception:
            # Whatever stopped it, the record must not stay FETCHING (the same URL would be
            # "in progress" until the lease runs out).
            record_failed(
                self.ctx,
                record,
                ImportReason.INTERRUPTED.value,
                "the import stopped on an unexpected error; import again",
            )
            raise
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
        if not record_imported(self.ctx, record, media, now):
            self._discard(key)
            raise Conflict("another call took this import over; call again to get its media")
        return media

    def _discard(self, key: str) -> None:
        try:
            self.ctx.storage.delete([key])
        except BlobStorageUnavailable as e:
            log.warning("import: %s left for the cleanup: %s", key, e)


def _file_name(url: str) -> str:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return sanitize_file_name(name or "imported")


def _too_large(max_bytes: int) -> ImportRefused:
    return ImportRefused(
        ImportReason.TOO_LARGE, f"the file is over the {human_size(max_bytes)} limit of its purpose"
    )
