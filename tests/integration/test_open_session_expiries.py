"""The PENDING cap's query on PostgreSQL: only the owner's open sessions, soonest expiry first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from media_grpc.bootstrap import Application
from media_grpc.domain.model import Media, Status
from tests.media_records import make_media


def media(owner: str, status: Status, expires_at: datetime, now: datetime) -> Media:
    return make_media(
        owner,
        status=status,
        variant_names=(),
        at=now,
        content_type="image/png",
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
