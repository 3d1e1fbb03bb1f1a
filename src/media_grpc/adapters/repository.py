"""The media repository port: what the use cases ask of stored media.

Its SQLAlchemy implementation is ``sql_media_repository.py``; the fake is ``tests/fakes.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from media_grpc.adapters.media_sweeps import SweepSet
from media_grpc.domain.model import Media, Purpose, Status


@dataclass(frozen=True)
class MediaFilter:
    """Which of one owner's media to list, newest first, after a (created_at, id) cursor."""

    owner_id: str
    status: Status | None = None
    purpose: Purpose | None = None
    limit: int = 50
    after: tuple[datetime, str] | None = None


class AbstractMediaRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, media: Media) -> None: ...

    @abc.abstractmethod
    def add_below_pending_cap(self, media: Media, cap: int, now: datetime) -> bool:
        """Add ``media`` (a new PENDING session) only if its owner holds fewer than ``cap``
        PENDING sessions still open at ``now``; False (nothing added) otherwise. Exact only
        while the caller holds the owner's lock (UploadAdmission.take)."""

    @abc.abstractmethod
    def get(self, media_id: str, *, for_update: bool = False) -> Media | None:
        """The media, or None. ``for_update`` locks its row until the transaction ends."""

    @abc.abstractmethod
    def get_many(self, media_ids: Sequence[str], *, for_update: bool = False) -> list[Media]: ...

    @abc.abstractmethod
    def save(self, media: Media) -> None:
        """Write back a media obtained from this repository (fields and variants)."""

    @abc.abstractmethod
    def transition(self, before: Media, after: Media) -> bool:
        """Write ``after`` if the stored media is still in ``before``'s status; False (nothing
        written) when another transaction changed the status first.

        ``before`` is the media as read (in any earlier transaction), ``after`` the same media
        changed by the domain: only the columns that differ are written, so a concurrent
        change to other columns stands. Variants must not differ. The write takes the row
        lock (waiting for a transaction that holds it, then checking the status again), held
        until the transaction ends. A status change is announced as ``save`` announces it.
        """

    @abc.abstractmethod
    def find_by_idempotency_key(self, owner_id: str, key: str) -> Media | None: ...

    @abc.abstractmethod
    def find(self, query: MediaFilter) -> list[Media]: ...

    @abc.abstractmethod
    def find_ready_copy(self, owner_id: str, purpose: Purpose, sha256: str) -> Media | None:
        """One READY media of ``owner_id`` and ``purpose`` whose verified sha256 (the one its
        job computed) is ``sha256``, locked until the transaction ends; or None. One indexed
        lookup (``ix_media_dedupe``) when there is none."""

    @abc.abstractmethod
    def objects_in_use(self, objects_key: str, except_id: str) -> bool:
        """Whether a media other than ``except_id``, not DELETED, uses the frozen original and
        outputs of ``objects_key`` (as its own storage key, or shared: its source key)."""

    # The verified-hash backfill (adapters/unhashed_media.py): media READY before their job
    # hashed originals, with objects of their own.

    @abc.abstractmethod
    def find_unhashed(
        self, after_id: str | None, limit: int, owner_id: str | None = None
    ) -> list[Media]:
        """At most ``limit`` READY media without a verified sha256 and without a source key
        (of ``owner_id`` when given), in id order, after ``after_id``."""

    @abc.abstractmethod
    def count_unhashed(self, owner_id: str | None = None) -> int:
        """How many media ``find_unhashed`` would page through."""

    @abc.abstractmethod
    def record_verified_sha256(self, media_id: str, etag: str, sha256: str) -> bool:
        """Set the verified sha256 of a media still READY, unhashed and pinned to ``etag``;
        False (nothing written) when a deletion, a job or another run changed it first.
        ``updated_at`` stays as it was."""

    # Lifecycle sweeps. ``claim`` locks the rows found until the transaction ends and skips rows
    # another transaction holds, so that two cleanup runs never act on the same media.

    @abc.abstractmethod
    def open_session_expiries(self, owner_id: str, now: datetime, limit: int) -> list[datetime]:
        """When the owner's PENDING sessions still open at ``now`` expire, soonest first, at
        most ``limit`` of them (one column: cheap enough for every CreateUploadSession)."""

    @abc.abstractmethod
    def find_for_sweep(
        self, which: SweepSet, now: datetime, before: datetime, limit: int, *, claim: bool = False
    ) -> list[Media]:
        """At most ``limit`` media of the set ``which``, oldest first (by ``updated_at``, or
        by ``expires_at`` for the sets that say so)."""

    @abc.abstractmethod
    def purge(self, media_id: str) -> None:
        """Remove the record and its variants for good; an absent record is not an error."""

    @abc.abstractmethod
    def find_by_post(self, post_id: str, *, for_update: bool = False) -> list[Media]:
        """The media attached to a post (never DELETED ones), in display order."""
