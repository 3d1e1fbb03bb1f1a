"""The PENDING cap's query on PostgreSQL: only the owner's open sessions, soonest expiry first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from media_grpc.bootstrap import Application
from media_grpc.domain.model import Media, Purpose, Status


def media(owner: str, status: Status, expires_at: datetime, now: datetime) -> Media:
    media_id = str(uuid.uuid4())
    return Media(
        id=media_id,
        owner_id=owner,
        purpose=Purpose.POST_IMAGE,
        status=status,
        storage_key=f"posts/{owner}/{media_id}.png",
        file_name="a.png",
        declared_content_type="image/png",
        mime_type="image/png",
        size_bytes=10,
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
    )


def test_open_session_expiries_lists_only_open_pending_sessions_soonest_first(
    app: Application, unique_user: str
) -> None:
    now = datetime.now(UTC)
    soon, later = now + timedelta(seconds=60), now + timedelta(seconds=600)
    with app.ctx.uow() as uow:
        uow.media.add(media(unique_user, Status.PENDING, later, now))
        uow.media.add(media(unique_user, Status.PENDING, soon, now))
        uow.media.add(media(unique_user, Status.PENDING, now - timedelta(seconds=1), now))
        uow.media.add(media(unique_user, Status.UPLOADED, soon, now))
        uow.media.add(media(f"other-{unique_user}", Status.PENDING, soon, now))
        uow.commit()

    with app.ctx.uow() as uow:
        expiries = uow.media.open_session_expiries(unique_user, now, 50)
        capped = uow.media.open_session_expiries(unique_user, now, 1)

    assert expiries == [soon, later]
    assert capped == [soon]
    assert all(at.tzinfo is not None for at in expiries)
