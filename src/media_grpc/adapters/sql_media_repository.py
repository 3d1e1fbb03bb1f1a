"""The media repository on SQLAlchemy (PostgreSQL and SQLite).

The sweeps' sets of media live in ``media_sweeps.py``, CreateUploadSession's statements in
``upload_session_statements.py``, the transitions' UPDATE in ``transition_statements.py``, dedupe's
in ``dedupe_statements.py``, the backfill's in ``unhashed_media.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    Select,
    Table,
    delete,
    false,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from media_grpc.adapters.audit_log import (
    EVENT_PREFIX,
    SqlAlchemyAuditLog,
    event_values,
)
from media_grpc.adapters.dedupe_statements import OBJECTS_IN_USE, READY_COPY
from media_grpc.adapters.media_mapping import (
    copy_to_row,
    row_values,
    to_domain,
    variant_row,
    variant_values,
)
from media_grpc.adapters.media_reads import read_media
from media_grpc.adapters.media_sweeps import SWEEP_SETS, SweepSet
from media_grpc.adapters.orm import MediaRow, VariantRow
from media_grpc.adapters.repository import AbstractMediaRepository, MediaFilter
from media_grpc.adapters.transition_statements import transition_statement
from media_grpc.adapters.unhashed_media import (
    RECORD_VERIFIED_SHA256,
    unhashed_count,
    unhashed_page,
)
from media_grpc.adapters.upload_session_statements import (
    INSERT_BELOW_PENDING_CAP,
    INSERT_BELOW_PENDING_CAP_WITH_EVENT,
    OPEN_SESSION_EXPIRIES,
)
from media_grpc.domain.audit import MediaEvent
from media_grpc.domain.model import Media, Purpose, Status, Variant

_MEDIA: Table = MediaRow.__table__  # type: ignore[assignment]
_VARIANT: Table = VariantRow.__table__  # type: ignore[assignment]


_INSERT_MEDIA = insert(_MEDIA)


class SqlAlchemyMediaRepository(AbstractMediaRepository):
    """``events``, the audit log of the same unit of work: on PostgreSQL, the statement of a
    new session or of a transition inserts the change's audit event if it waits there
    (``SqlAlchemyAuditLog.take_pending``), in the same round trip."""

    def __init__(self, session: Session, events: SqlAlchemyAuditLog | None = None) -> None:
        self.session = session
        self.events = events
        self._postgresql: bool | None = None
        #: The variants each media had when read in this session: ``save`` rewrites them
        #: only when they changed (a status change writes one UPDATE, not a DELETE as well).
        self._variants_read: dict[str, list[Variant]] = {}
        #: The rows read, held so that ``save`` finds them in the session's (weak) identity
        #: map instead of reading them again.
        self._rows_read: dict[str, MediaRow] = {}

    def add(self, media: Media) -> None:
        # Core INSERTs: the ORM unit of work (identity map, flush) costs more than the SQL.
        self.session.execute(_INSERT_MEDIA, row_values(media))
        if media.variants:
            self.session.execute(
                insert(_VARIANT),
                [variant_values(media.id, v) for v in media.variants],
            )
        self._variants_read[media.id] = list(media.variants)

    def add_below_pending_cap(self, media: Media, cap: int, now: datetime) -> bool:
        if media.variants:
            raise ValueError("a new upload session has no variants")
        values = {**row_values(media), "now": now, "cap": cap}
        event = self._take_event(media.id)
        if event is None:
            inserted = self.session.execute(INSERT_BELOW_PENDING_CAP, values).first()
        else:
            values.update(event_values(event, EVENT_PREFIX))
            inserted = self.session.execute(INSERT_BELOW_PENDING_CAP_WITH_EVENT, values).first()
        if inserted is None:
            if event is not None and self.events is not None:
                self.events.give_back(event)
            return False
        self._variants_read[media.id] = []
        return True

    def get(self, media_id: str, *, for_update: bool = False) -> Media | None:
        found = self.get_many([media_id], for_update=for_update)
        return found[0] if found else None

    def get_many(self, media_ids: Sequence[str], *, for_update: bool = False) -> list[Media]:
        if not media_ids:
            return []
        if not for_update:
            found = read_media(self.session, media_ids)
            for media in found:
                self._variants_read[media.id] = list(media.variants)
            return found
        # Lock in id order so that two transactions locking overlapping sets cannot deadlock.
        stmt = select(MediaRow).where(MediaRow.id.in_(list(media_ids))).order_by(MediaRow.id)
        self._lock_sqlite()
        # populate_existing: a row read earlier in this session is re-read under the lock.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
        rows = list(self.session.scalars(stmt))
        return self._with_variants(rows)

    def save(self, media: Media) -> None:
        row = self.session.get(MediaRow, media.id)
        if row is None:
            raise LookupError(f"media {media.id} is not in this session")
        copy_to_row(media, row)
        if self._variants_read.get(media.id) != media.variants:
            self.session.execute(delete(VariantRow).where(VariantRow.media_id == media.id))
            for variant in media.variants:
                self.session.add(variant_row(media.id, variant))
            self._variants_read[media.id] = list(media.variants)
        self.session.flush()

    def transition(self, before: Media, after: Media) -> bool:
        # One Core UPDATE instead of a locked SELECT (and its variants) and an ORM flush.
        if before.id != after.id or before.variants != after.variants:
            raise ValueError("a transition changes one media's columns, never its variants")
        old = row_values(before)
        changed = {k: v for k, v in row_values(after).items() if old[k] != v}
        notify = after.status is not before.status and self._is_postgresql()
        event = self._take_event(before.id)
        stmt = transition_statement(tuple(changed), notify, event is not None)
        params = {f"set_{k}": v for k, v in changed.items()}
        params.update(where_id=before.id, where_status=before.status.value)
        if event is not None:
            params.update(event_values(event, EVENT_PREFIX))
        if notify or event is not None:
            written = len(self.session.execute(stmt, params).all()) == 1
        else:
            written = self.session.execute(stmt, params).rowcount == 1  # type: ignore[attr-defined]
        if not written and event is not None and self.events is not None:
            self.events.give_back(event)
        return bool(written)

    def find_by_idempotency_key(self, owner_id: str, key: str) -> Media | None:
        row = self.session.scalars(
            select(MediaRow).where(MediaRow.owner_id == owner_id, MediaRow.idempotency_key == key)
        ).first()
        return self._with_variants([row])[0] if row else None

    def find(self, query: MediaFilter) -> list[Media]:
        stmt = select(MediaRow).where(MediaRow.owner_id == query.owner_id)
        if query.status is not None:
            stmt = stmt.where(MediaRow.status == query.status.value)
        else:
            stmt = stmt.where(MediaRow.status != Status.DELETED.value)
        if query.purpose is not None:
            stmt = stmt.where(MediaRow.purpose == query.purpose.value)
        if query.after is not None:
            created_at, media_id = query.after
            stmt = stmt.where(
                tuple_(MediaRow.created_at, MediaRow.id) < tuple_(created_at, media_id)
            )
        stmt = stmt.order_by(MediaRow.created_at.desc(), MediaRow.id.desc()).limit(query.limit)
        return self._with_variants(list(self.session.scalars(stmt)))

    def find_ready_copy(self, owner_id: str, purpose: Purpose, sha256: str) -> Media | None:
        self._lock_sqlite()
        row = self.session.scalars(
            READY_COPY.with_for_update().execution_options(populate_existing=True),
            {"owner_id": owner_id, "purpose": purpose.value, "sha256": sha256},
        ).first()
        return self._with_variants([row])[0] if row else None

    def objects_in_use(self, objects_key: str, except_id: str) -> bool:
        found = self.session.execute(OBJECTS_IN_USE, {"key": objects_key, "id": except_id})
        return found.first() is not None

    def find_unhashed(
        self, after_id: str | None, limit: int, owner_id: str | None = None
    ) -> list[Media]:
        rows = self.session.scalars(unhashed_page(after_id, limit, owner_id))
        return self._with_variants(list(rows))

    def count_unhashed(self, owner_id: str | None = None) -> int:
        return int(self.session.scalar(unhashed_count(owner_id)) or 0)

    def record_verified_sha256(self, media_id: str, etag: str, sha256: str) -> bool:
        params = {"b_id": media_id, "b_etag": etag, "b_sha256": sha256}
        written = self.session.execute(RECORD_VERIFIED_SHA256, params)
        return bool(written.rowcount == 1)  # type: ignore[attr-defined]

    def open_session_expiries(self, owner_id: str, now: datetime, limit: int) -> list[datetime]:
        found = self.session.execute(
            OPEN_SESSION_EXPIRIES, {"owner_id": owner_id, "now": now, "limit": limit}
        ).scalars()
        # SQLite returns naive datetimes; everything stored is UTC.
        return [at if at.tzinfo else at.replace(tzinfo=UTC) for at in found]

    def find_for_sweep(
        self, which: SweepSet, now: datetime, before: datetime, limit: int, *, claim: bool = False
    ) -> list[Media]:
        criteria, oldest = SWEEP_SETS[which]
        stmt = select(MediaRow).where(*criteria(now, before)).order_by(oldest, MediaRow.id)
        return self._sweep(stmt, limit, claim)

    def purge(self, media_id: str) -> None:
        self.session.execute(delete(VariantRow).where(VariantRow.media_id == media_id))
        self.session.execute(delete(MediaRow).where(MediaRow.id == media_id))
        self.session.flush()

    def _sweep(self, stmt: Select[MediaRow], limit: int, claim: bool) -> list[Media]:
        stmt = stmt.limit(limit)
        if claim:
            # PostgreSQL: FOR UPDATE SKIP LOCKED. SQLite ignores FOR UPDATE: take its write lock.
            self._lock_sqlite()
            stmt = stmt.with_for_update(skip_locked=True)
        return self._with_variants(list(self.session.scalars(stmt)))

    def find_by_post(self, post_id: str, *, for_update: bool = False) -> list[Media]:
        stmt = select(MediaRow).where(
            MediaRow.post_id == post_id, MediaRow.status != Status.DELETED.value
        )
        if for_update:
            self._lock_sqlite()
            stmt = (
                stmt.order_by(MediaRow.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        rows = list(self.session.scalars(stmt))
        rows.sort(key=lambda row: (row.post_position, row.id))
        return self._with_variants(rows)

    def _is_postgresql(self) -> bool:
        if self._postgresql is None:
            self._postgresql = self.session.get_bind().dialect.name == "postgresql"
        return self._postgresql

    def _take_event(self, media_id: str) -> MediaEvent | None:
        """The audit event waiting for ``media_id``'s change, for its statement to insert
        (PostgreSQL); None when there is none or it must wait for the commit."""
        if self.events is None or not self._is_postgresql():
            return None
        return self.events.take_pending(media_id)

    def _lock_sqlite(self) -> None:
        """SQLite ignores FOR UPDATE: a write statement takes its database write lock instead,
        held until commit, so that read-check-write use cases serialise as on PostgreSQL."""
        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(
                update(MediaRow).where(false()).values(status=MediaRow.status),
                execution_options={"synchronize_session": False},
            )

    def _with_variants(self, rows: list[MediaRow]) -> list[Media]:
        if not rows:
            return []
        variants: dict[str, list[VariantRow]] = {row.id: [] for row in rows}
        for v in self.session.scalars(
            select(VariantRow).where(VariantRow.media_id.in_(list(variants)))
        ):
            variants[v.media_id].append(v)
        found = [to_domain(row, variants[row.id]) for row in rows]
        for row, media in zip(rows, found, strict=True):
            self._rows_read[row.id] = row
            self._variants_read[media.id] = list(media.variants)
        return found
