"""Writing media records through the application's unit of work, skipping upload and pipeline."""

from __future__ import annotations

from media_grpc.bootstrap import Application
from media_grpc.domain.model import Media
from tests.media_records import make_media


def store(app: Application, media: Media) -> Media:
    with app.ctx.uow() as uow:
        uow.media.add(media)
        uow.commit()
    return media


def stored_media(app: Application, owner_id: str, **fields: object) -> Media:
    """A media (READY by default) of ``owner_id`` in the database; no objects in the bucket."""
    return store(app, make_media(owner_id, **fields))  # type: ignore[arg-type]


def load(app: Application, media_id: str) -> Media:
    with app.ctx.uow() as uow:
        media = uow.media.get(media_id)
    assert media is not None
    return media
