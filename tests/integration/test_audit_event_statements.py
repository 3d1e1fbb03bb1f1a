"""On PostgreSQL an audit event rides the statement of the change it records: creating a
session or completing an upload sends no statement for its event of its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from media_grpc.adapters.orm import MediaEventRow
from media_grpc.bootstrap import Application
from media_grpc.domain.model import Purpose
from media_grpc.domain.principal import Principal
from media_grpc.service.uploads import UploadRequest, UploadSession

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 248


@contextmanager
def statements(app: Application) -> Iterator[list[str]]:
    """The SQL of every statement the application sends while the block runs."""
    seen: list[str] = []

    def sent(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(app.engine, "before_cursor_execute", sent)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", sent)


def actions(app: Application, media_id: str) -> list[str]:
    with app.ctx.uow() as uow:
        session = uow.session  # type: ignore[attr-defined]
        found = session.scalars(
            select(MediaEventRow.action)
            .where(MediaEventRow.media_id == media_id)
            .order_by(MediaEventRow.sequence)
        )
        return list(found)


def request() -> UploadRequest:
    return UploadRequest(
        purpose=Purpose.POST_IMAGE,
        file_name="a.png",
        content_type="image/png",
        size_bytes=len(PNG),
    )


def uploaded_session(app: Application, owner: Principal) -> UploadSession:
    """A new session whose object is in storage, ready to complete."""
    session = app.uploads.create_session(owner, request())
    app.s3_client.put_object(
        Bucket=app.settings.s3_bucket,
        Key=session.media.storage_key,
        Body=PNG,
        ContentType="image/png",
    )
    return session


def test_a_new_session_and_its_event_are_inserted_by_one_statement(
    app: Application, unique_user: str
) -> None:
    with statements(app) as seen:
        session = app.uploads.create_session(Principal(unique_user, False), request())

    # The owner's token bucket, then the session with its event.
    assert [s.split()[0] for s in seen] == ["INSERT", "WITH"]
    assert "INSERT INTO media_event" in seen[1]
    assert actions(app, session.media.id) == ["session_created"]


def test_a_completion_s_event_rides_its_status_update(app: Application, unique_user: str) -> None:
    owner = Principal(unique_user, False)
    session = uploaded_session(app, owner)

    with statements(app) as seen:
        app.uploads.complete_upload(owner, session.media.id)

    carried = [s for s in seen if "INSERT INTO media_event" in s]
    assert len(carried) == 1
    assert carried[0].startswith("WITH changed AS (UPDATE media SET")
    assert actions(app, session.media.id) == ["session_created", "upload_completed"]


def test_a_repeated_completion_writes_no_second_event(app: Application, unique_user: str) -> None:
    owner = Principal(unique_user, False)
    session = uploaded_session(app, owner)
    app.uploads.complete_upload(owner, session.media.id)

    app.uploads.complete_upload(owner, session.media.id)

    assert actions(app, session.media.id) == ["session_created", "upload_completed"]
