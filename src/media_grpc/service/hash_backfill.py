"""Backfill of verified hashes: media READY before jobs hashed originals (migration 0008) have
no ``verified_sha256``, so they are never a dedupe match (service/dedupe.py). This reads each
one's original once, through sha256, and records the hash.

Pages through the unhashed media in id order. Each original is read pinned to the ETag its
HEAD gave, and must have the size completion verified; an archived one is skipped, not
restored. The hash is recorded only while the media is still READY, unhashed and pinned to
that ETag: a deletion or a job that changed it meanwhile wins. A hash that contradicts the
sha256 the client declared is not recorded.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from enum import StrEnum

from media_grpc.adapters.blob_storage import BlobNotFound, BlobStorageUnavailable
from media_grpc.domain.model import Media
from media_grpc.service.archive import original_keys
from media_grpc.service.context import ServiceContext

log = logging.getLogger(__name__)

#: Media read per page (one short read-only transaction each).
BATCH_SIZE = 100


class Outcome(StrEnum):
    HASHED = "hashed"
    #: The original sits in an archive storage class (not restored by this command).
    ARCHIVED = "skipped: original archived (not readable)"
    MISSING = "skipped: original missing"
    #: The stored object no longer holds the content completion pinned (another ETag or size).
    CHANGED = "skipped: original changed since completion"
    #: The bytes contradict the sha256 the client declared: nothing recorded.
    MISMATCH = "not recorded: hash differs from the declared sha256"
    #: The media was deleted, hashed or changed in the database while its original was read.
    MOVED_ON = "not recorded: media changed meanwhile"
    #: Storage did not answer; the next run tries again.
    FAILED = "failed"


@dataclass
class BackfillReport:
    """What one run did (or, with ``dry_run``, would do)."""

    dry_run: bool = False
    #: How many media each outcome had (not filled by a dry run).
    outcomes: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    #: Media a dry run would read (at most the run's limit).
    would_read: int = 0
    #: Bytes of originals read.
    bytes_read: int = 0
    #: Unhashed media left after the run (skipped and failed ones included).
    remaining: int = 0
    #: Media that failed, as ``media_id: error``.
    errors: list[str] = field(default_factory=list)

    @property
    def hashed(self) -> int:
        return self.outcomes[Outcome.HASHED]

    def lines(self) -> list[str]:
        if self.dry_run:
            return [f"would read (dry run): {self.would_read}", f"remaining: {self.remaining}"]
        out = [f"{outcome.value}: {count}" for outcome, count in self.outcomes.items()]
        out += [f"bytes read: {self.bytes_read}", f"remaining: {self.remaining}"]
        return out + [f"error: {e}" for e in self.errors]


class HashBackfill:
    """Parameters:
    ctx: unit of work factory and storage.
    batch_size: media read per page.
    """

    def __init__(self, ctx: ServiceContext, batch_size: int = BATCH_SIZE) -> None:
        self.ctx = ctx
        self.batch_size = batch_size

    def run(
        self, *, limit: int = 1000, owner_id: str | None = None, dry_run: bool = False
    ) -> BackfillReport:
        """Hash at most ``limit`` unhashed media (of ``owner_id`` when given); with
        ``dry_run``, only count them."""
        report = BackfillReport(dry_run=dry_run)
        if dry_run:
            report.remaining = self._count(owner_id)
            report.would_read = min(limit, report.remaining)
            return report
        after: str | None = None
        while limit > 0:
            with (self.ctx.read or self.ctx.uow)() as uow:
                page = uow.media.find_unhashed(after, min(self.batch_size, limit), owner_id)
            if not page:
                break
            for media in page:
                report.outcomes[self._backfill(media, report)] += 1
            limit -= len(page)
            after = page[-1].id
        report.remaining = self._count(owner_id)
        log.info("hash backfill finished", extra={"backfill": report.lines()})
        return report

    def _count(self, owner_id: str | None) -> int:
        with (self.ctx.read or self.ctx.uow)() as uow:
            return uow.media.count_unhashed(owner_id)

    def _backfill(self, media: Media, report: BackfillReport) -> Outcome:
        try:
            outcome, sha256 = self._hash(media, report)
        except BlobStorageUnavailable as e:
            report.errors.append(f"{media.id}: {e}")
            log.warning("hash backfill: media %s: %s", media.id, e)
            return Outcome.FAILED
        if outcome is not Outcome.HASHED:
            return outcome
        if media.sha256 and media.sha256 != sha256:
            log.warning(
                "hash backfill: media %s declared sha256 %s, its original hashes to %s; "
                "not recorded",
                media.id,
                media.sha256,
                sha256,
            )
            return Outcome.MISMATCH
        with self.ctx.uow() as uow:
            assert media.etag is not None
            if not uow.media.record_verified_sha256(media.id, media.etag, sha256):
                return Outcome.MOVED_ON
            uow.commit()
        return Outcome.HASHED

    def _hash(self, media: Media, report: BackfillReport) -> tuple[Outcome, str]:
        """The outcome of reading the original, and its hex sha256 when it was read."""
        if media.etag is None:
            return Outcome.CHANGED, ""  # nothing to pin the read to
        found = self._readable_original(media)
        if isinstance(found, Outcome):
            return found, ""
        key, etag = found
        hashing = _Hashing()
        try:
            self.ctx.storage.read_chunks(key, hashing, etag=etag)
        except BlobNotFound:
            return Outcome.CHANGED, ""  # another ETag (or deleted since it was found)
        finally:
            report.bytes_read += hashing.size
        if hashing.size != media.size_bytes:
            return Outcome.CHANGED, ""
        return Outcome.HASHED, hashing.digest.hexdigest()

    def _readable_original(self, media: Media) -> tuple[str, str] | Outcome:
        """The key and ETag of the original (its frozen copy, else the upload key of a media
        completed before originals were frozen), or why it cannot be read.

        The frozen copy's ETag may differ from the upload's (AWS gives a copy of a multipart
        object a new one), so the read is pinned to the ETag seen here, and the size must be
        the one completion verified.
        """
        for key in original_keys(media):
            try:
                info = self.ctx.storage.head(key)
            except BlobNotFound:
                continue
            if info.size != media.size_bytes:
                return Outcome.CHANGED
            if not self.ctx.storage.availability(key).readable:
                return Outcome.ARCHIVED
            return key, info.etag
        return Outcome.MISSING


class _Hashing:
    """Takes the chunks of a read: their sha256 and how many bytes they held."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def __call__(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.size += len(chunk)
