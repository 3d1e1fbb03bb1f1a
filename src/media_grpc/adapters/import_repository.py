"""The import records port (one row per legacy URL's idempotency key) and its SQLAlchemy side."""

from __future__ import annotations

import abc
import hashlib

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from media_grpc.adapters.orm import ImportRow
from media_grpc.adapters.row_fields import aware_times, same_named
from media_grpc.domain.imports import ImportRecord, ImportState
from media_grpc.domain.model import Purpose


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class AbstractImportRepository(abc.ABC):
    @abc.abstractmethod
    def get(self, key: str, *, for_update: bool = False) -> ImportRecord | None:
        """The record, or None. ``for_update`` locks it until the transaction ends."""

    @abc.abstractmethod
    def add_if_absent(self, record: ImportRecord) -> bool:
        """Insert unless a record with this key exists; True when this call inserted it."""

    @abc.abstractmethod
    def save(self, record: ImportRecord) -> None: ...

    @abc.abstractmethod
    def find_by_url(self, url: str) -> ImportRecord | None:
        """The IMPORTED record of a source URL (the newest, if several keys named it)."""


class SqlAlchemyImportRepository(AbstractImportRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: str, *, for_update: bool = False) -> ImportRecord | None:
        stmt = select(ImportRow).where(ImportRow.key == key)
        if for_update:
            if self.session.get_bind().dialect.name == "sqlite":
                # SQLite ignores FOR UPDATE: a write takes the database lock until commit.
                self.session.execute(
                    update(ImportRow).where(ImportRow.key == key).values(key=ImportRow.key),
                    execution_options={"synchronize_session": False},
                )
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        row = self.session.scalars(stmt).first()
        return _to_domain(row) if row is not None else None

    def add_if_absent(self, record: ImportRecord) -> bool:
        values = _values(record)
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(ImportRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(ImportRow.key)
        )
        return self.session.execute(stmt).first() is not None

    def save(self, record: ImportRecord) -> None:
        values = _values(record)
        self.session.execute(update(ImportRow).where(ImportRow.key == record.key).values(**values))

    def find_by_url(self, url: str) -> ImportRecord | None:
        stmt = (
            select(ImportRow)
            .where(
                ImportRow.url_hash == url_hash(url),
                ImportRow.source_url == url,
                ImportRow.state == ImportState.IMPORTED.value,
            )
            .order_by(ImportRow.updated_at.desc())
            .limit(1)
        )
        row = self.session.scalars(stmt).first()
        return _to_domain(row) if row is not None else None


#: Record fields held as they are in the import table's columns of the same name.
_IMPORT_COLUMNS = (
    "key",
    "source_url",
    "owner_id",
    "media_id",
    "attempts",
    "post_id",
    "post_position",
    "reason",
    "message",
)
#: Record times, stored in UTC in the columns of the same name.
_IMPORT_TIMES = ("lease_until", "created_at", "updated_at")


def _values(record: ImportRecord) -> dict[str, object]:
    return {
        **same_named(record, _IMPORT_COLUMNS + _IMPORT_TIMES),
        "url_hash": url_hash(record.source_url),
        "purpose": record.purpose.value,
        "state": record.state.value,
    }


def _to_domain(row: ImportRow) -> ImportRecord:
    return ImportRecord(
        **same_named(row, _IMPORT_COLUMNS),
        **aware_times(row, _IMPORT_TIMES),
        purpose=Purpose(row.purpose),
        state=ImportState(row.state),
    )
