"""Which profile image is an owner's current one: the port and its SQLAlchemy implementation."""

from __future__ import annotations

import abc
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from media_grpc.adapters.orm import ProfileImageRow


class AbstractProfileImages(abc.ABC):
    @abc.abstractmethod
    def hold(self, owner_id: str, now: datetime) -> str | None:
        """Lock the owner's profile-image row until the transaction ends (creating it if
        missing); returns the current media id. Every transaction that changes which profile
        image is current takes this lock first, before any media row."""

    @abc.abstractmethod
    def set_current(self, owner_id: str, media_id: str, now: datetime) -> None:
        """Point the owner (held by :meth:`hold`) at ``media_id``."""

    @abc.abstractmethod
    def current(self, owner_id: str) -> str | None:
        """The current media id, without locking; None when the owner never had one."""


class SqlAlchemyProfileImages(AbstractProfileImages):
    def __init__(self, session: Session) -> None:
        self.session = session

    def hold(self, owner_id: str, now: datetime) -> str | None:
        dialect = self.session.get_bind().dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        self.session.execute(
            module.insert(ProfileImageRow)
            .values(owner_id=owner_id, media_id=None, updated_at=now)
            .on_conflict_do_nothing(index_elements=["owner_id"])
        )
        query = (
            select(ProfileImageRow.media_id)
            .where(ProfileImageRow.owner_id == owner_id)
            .with_for_update()
        )
        return self.session.execute(query).scalar_one_or_none()

    def set_current(self, owner_id: str, media_id: str, now: datetime) -> None:
        self.session.execute(
            update(ProfileImageRow)
            .where(ProfileImageRow.owner_id == owner_id)
            .values(media_id=media_id, updated_at=now)
        )

    def current(self, owner_id: str) -> str | None:
        query = select(ProfileImageRow.media_id).where(ProfileImageRow.owner_id == owner_id)
        return self.session.execute(query).scalar_one_or_none()
