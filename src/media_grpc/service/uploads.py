"""Upload sessions: create one, complete it (verify what storage holds), abort it."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from media_grpc.adapters.blob_storage import PresignedRequest, StoredPart
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork
from media_grpc.config.uploads import UploadSettings
from media_grpc.domain import keys
from media_grpc.domain.audit import Actor, AuditAction
from media_grpc.domain.checksums import declared_sha256
from media_grpc.domain.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    MediaError,
)
from media_grpc.domain.file_names import sanitize_file_name
from media_grpc.domain.model import Media, MultipartSession, Purpose, Status
from media_grpc.domain.principal import Principal
from media_grpc.service import audit_trail, dedupe, profile_images
from media_grpc.service.completion import UploadCompletion
from media_grpc.service.context import ServiceContext
from media_grpc.service.limits import UploadAdmission
from media_grpc.service.multipart import MultipartUploads, PartUrl
from media_grpc.service.owner_rates import OwnerRates, RatedCall
from media_grpc.service.upload_policy import check_declared
from media_grpc.service.verification import UploadVerifier

MAX_IDEMPOTENCY_KEY_CHARS = 128


@dataclass(frozen=True)
class UploadRequest:
    purpose: Purpose
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str | None = None
    idempotency_key: str = ""
    owner_id: str = ""


@dataclass(frozen=True)
class UploadSession:
    """A PENDING media and how to upload its bytes: one PUT, or parts. Or, ``deduplicated``,
    a READY media sharing the objects of one its owner already had, and nothing to upload."""

    media: Media
    single_put: PresignedRequest | None = None
    part_urls: list[PartUrl] = field(default_factory=list)
    deduplicated: bool = False


class UploadService:
    def __init__(
        self,
        ctx: ServiceContext,
        settings: UploadSettings,
        admission: UploadAdmission | None = None,
        rates: OwnerRates | None = None,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.admission = admission
        self.rates = rates
        self.verifier = UploadVerifier(ctx.storage, settings)
        self.multipart = MultipartUploads(ctx, settings)
        self.completion = UploadCompletion(ctx, self.verifier, self.multipart)

    def create_session(self, principal: Principal, request: UploadRequest) -> UploadSession:
        """One transaction: lock the owner (admission), look the idempotency key up, check the
        limits, look for the same verified bytes (dedupe), insert. A replay or a refusal rolls
        back, so it takes no token."""
        owner_id = principal.owner_for(request.owner_id)
        sha256 = declared_sha256(request.sha256)
        check_declared(self.settings, request.purpose, request.content_type, request.size_bytes)
        key = _check_idempotency_key(request.idempotency_key)
        fingerprint = _fingerprint(request, owner_id, sha256)
        now = self.ctx.now()
        multipart: MultipartSession | None = None
        deduplicated = False
        try:
            with self.ctx.uow() as uow:
                tokens = self.admission.take(uow, owner_id) if self.admission else 0.0
                existing = uow.media.find_by_idempotency_key(owner_id, key) if key else None
                if existing is None:
                    if self.admission is not None:
                        self.admission.check_rate(owner_id, tokens)
                    actor = Actor.of(principal, owner_id)
                    source = self._dedupe_source(uow, request, owner_id, sha256, now)
                    media = self._new_media(
                        request, owner_id, sha256, key, fingerprint, now, upload=not source
                    )
                    multipart = media.multipart
                    if source is not None:
                        media = dedupe.copy_of(source, media, now)
                        dedupe.record_hit(uow, self.ctx.storage, media, source, actor, now)
                        deduplicated = True
                    else:
                        # Recorded first, so that the INSERT can carry it
                        # (adapters/sql_media_repository.py).
                        audit_trail.record(uow, media, actor, AuditAction.SESSION_CREATED)
                        if self.admission is not None:
                            self.admission.add(uow, media, now)
                        else:
                            uow.media.add(media)
                    uow.commit()
        except Exception as error:
            if multipart is not None:
                self.multipart.abandon(media.storage_key, multipart)
            if isinstance(error, MediaError):
                raise
            existing = self._find(owner_id, key)
            if existing is None:
                raise
            # Without admission's lock, a concurrent call with the same key may win the insert.
        if existing is not None:
            return self._replay(existing, fingerprint)
        if deduplicated:
            return UploadSession(media=media, deduplicated=True)
        return self._session(media)

    def _dedupe_source(
        self,
        uow: AbstractUnitOfWork,
        request: UploadRequest,
        owner_id: str,
        sha256: str | None,
        now: datetime,
    ) -> Media | None:
        """The owner's READY media with the declared bytes (service/dedupe.py); looked up for
        every create that declares a sha256. A profile image's owner is held first (the lock
        order of profile_images.py: owner, then media)."""
        if sha256 is None:
            return None
        profile_images.hold_owner(uow, request.purpose, owner_id, now)
        return dedupe.find_source(uow, owner_id, request.purpose, sha256, request.size_bytes)

    def _new_media(
        self,
        request: UploadRequest,
        owner_id: str,
        sha256: str | None,
        key: str,
        fingerprint: str,
        now: datetime,
        *,
        upload: bool = True,
    ) -> Media:
        """The PENDING session; without ``upload``, no multipart upload is started."""
        media_id = self.ctx.new_id()
        storage_key = keys.original_key(
            request.purpose, owner_id, media_id, request.content_type, now
        )
        multipart = self._start_multipart(storage_key, request) if upload else None
        ttl = (
            self.settings.multipart_session_ttl_seconds
            if multipart
            else self.settings.url_ttl_seconds
        )
        return Media(
            id=media_id,
            owner_id=owner_id,
            purpose=request.purpose,
            status=Status.PENDING,
            storage_key=storage_key,
            file_name=sanitize_file_name(request.file_name),
            declared_content_type=request.content_type,
            mime_type=request.content_type,
            size_bytes=request.size_bytes,
            sha256=sha256,
            idempotency_key=key or None,
            request_fingerprint=fingerprint,
            created_at=now,
            updated_at=now,
            multipart=multipart,
            expires_at=now + timedelta(seconds=ttl),
        )

    def complete_upload(
        self,
        principal: Principal,
        media_id: str,
        parts: list[tuple[int, str]] | None = None,
        sha256: str | None = None,
    ) -> Media:
        """Verify the object (assembling the parts first) and mark the media UPLOADED.

        ``sha256``, for a client that hashed while it sent, is recorded as if it had been
        declared to CreateUploadSession (and must agree with one declared there).
        """
        if self.rates is not None:
            self.rates.admit_caller(RatedCall.COMPLETE, principal)
        return self.completion.complete(
            principal, media_id, list(parts or []), declared_sha256(sha256)
        )

    def abort_upload(self, principal: Principal, media_id: str) -> Media:
        return self.completion.abort(principal, media_id)

    def part_urls(self, principal: Principal, media_id: str, numbers: list[int]) -> list[PartUrl]:
        if self.rates is not None:
            self.rates.admit_caller(RatedCall.PART_URLS, principal)
        return self.multipart.part_urls(principal, media_id, numbers)

    def uploaded_parts(
        self, principal: Principal, media_id: str
    ) -> tuple[MultipartSession, list[StoredPart]]:
        return self.multipart.uploaded_parts(principal, media_id)

    def _start_multipart(self, key: str, request: UploadRequest) -> MultipartSession | None:
        if request.size_bytes < self.settings.multipart_threshold_bytes:
            return None
        return self.multipart.start(key, request.content_type, request.size_bytes)

    def _find(self, owner_id: str, key: str) -> Media | None:
        if not key:
            return None
        with self.ctx.uow() as uow:
            return uow.media.find_by_idempotency_key(owner_id, key)

    def _session(self, media: Media) -> UploadSession:
        if media.multipart is not None:
            return UploadSession(media=media, part_urls=self.multipart.initial_urls(media))
        return UploadSession(media=media, single_put=self._presign_single(media))

    def _replay(self, existing: Media, fingerprint: str) -> UploadSession:
        if existing.request_fingerprint != fingerprint:
            raise AlreadyExists(
                f"idempotency_key {existing.idempotency_key!r} was used for media {existing.id} "
                "with different parameters; use a new key for a different upload"
            )
        if existing.source_key is not None and existing.status is Status.READY:
            # A dedupe hit answered again as it was answered first.
            return UploadSession(media=existing, deduplicated=True)
        if existing.status is not Status.PENDING or existing.expires_at <= self.ctx.now():
            raise FailedPrecondition(
                f"idempotency_key {existing.idempotency_key!r} belongs to media {existing.id}, "
                f"which is {existing.status.value}"
                + (" and expired" if existing.status is Status.PENDING else "")
                + "; its session cannot be handed out again"
            )
        return self._session(existing)

    def _presign_single(self, media: Media) -> PresignedRequest:
        ttl = _seconds_left(media.expires_at, self.ctx.now())
        return self.ctx.storage.presign_put(
            media.storage_key,
            content_type=media.declared_content_type,
            content_length=media.size_bytes,
            sha256_b64=_hex_to_b64(media.sha256) if media.sha256 else None,
            expires_in=ttl,
        )


def _seconds_left(expires_at: datetime, now: datetime) -> int:
    return max(1, int((expires_at - now).total_seconds()))


def _check_idempotency_key(key: str) -> str:
    if len(key) > MAX_IDEMPOTENCY_KEY_CHARS or any(ord(c) < 32 for c in key):
        raise InvalidArgument(
            f"idempotency_key must be at most {MAX_IDEMPOTENCY_KEY_CHARS} printable characters",
            field="idempotency_key",
            limit=str(MAX_IDEMPOTENCY_KEY_CHARS),
            value=str(len(key)),
        )
    return key


def _fingerprint(request: UploadRequest, owner_id: str, sha256: str | None) -> str:
    parts = [
        owner_id,
        request.purpose.value,
        request.file_name,
        request.content_type,
        str(request.size_bytes),
        sha256 or "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _hex_to_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()
