"""The audit trail over a real channel: PostgreSQL, RabbitMQ, the worker and the cleanup write
events with their changes, and only service principals read them (ListMediaEvents)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from media.v1 import media_pb2 as pb
from media.v1 import media_pb2_grpc
from sqlalchemy import text

from media_grpc.bootstrap import Application
from media_grpc.config.lifecycle import LifecycleSettings
from media_grpc.service.cleanup import CleanupService
from tests.integration.pipeline.conftest import (
    png_bytes,
    running_pipeline,
)
from tests.upload_sessions import put_upload

Auth = Callable[..., list[tuple[str, str]]]
Stub = media_pb2_grpc.MediaServiceStub


def events(stub: Stub, auth: Auth, **filters: object) -> list[pb.MediaEvent]:
    found: list[pb.MediaEvent] = []
    request = pb.ListMediaEventsRequest(page_size=2, **filters)  # type: ignore[arg-type]
    while True:
        page = stub.ListMediaEvents(request, metadata=auth("auditor", role="service"))
        found += page.events
        if not page.next_page_token:
            return found
        request.page_token = page.next_page_token


def actions(found: list[pb.MediaEvent]) -> list[str]:
    return [pb.MediaEventAction.Name(e.action).removeprefix("MEDIA_EVENT_ACTION_") for e in found]


def uploaded(stub: Stub, auth: Auth, user: str, request_id: str) -> str:
    data = png_bytes(64, 48)
    metadata = [*auth(user), ("x-request-id", request_id)]
    return str(put_upload(stub, metadata, data, file_name="audit.png").media_id)


def test_an_upload_to_ready_leaves_its_events_in_order_with_who_and_which_request(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    media_id = uploaded(stub, auth, unique_user, "req-create-1")
    with running_pipeline(pipeline_app):
        stub.CompleteUpload(
            pb.CompleteUploadRequest(media_id=media_id),
            metadata=[*auth(unique_user), ("x-request-id", "req-complete-1")],
        )
        for answer in stub.WatchMedia(
            pb.WatchMediaRequest(media_id=media_id), metadata=auth(unique_user), timeout=60
        ):
            if answer.media.status == pb.STATUS_READY:
                break

    found = events(stub, auth, media_id=media_id)

    assert actions(found) == [
        "SESSION_CREATED",
        "UPLOAD_COMPLETED",
        "PROCESSING_STARTED",
        "PROCESSING_READY",
    ]
    created, completed, started, ready = found
    assert [created.request_id, completed.request_id] == ["req-create-1", "req-complete-1"]
    for by_user in (created, completed):
        assert by_user.actor_kind == pb.MEDIA_EVENT_ACTOR_KIND_USER
        assert by_user.actor == unique_user
        assert by_user.owner_id == unique_user
    for by_worker in (started, ready):
        assert (by_worker.actor_kind, by_worker.actor) == (
            pb.MEDIA_EVENT_ACTOR_KIND_SYSTEM,
            "worker",
        )
    assert all(e.outcome == "ok" for e in found)
    sequences = [e.sequence for e in found]
    assert sequences == sorted(sequences)
    times = [e.occurred_at.ToDatetime(tzinfo=UTC) for e in found]
    assert times == sorted(times)
    assert datetime.now(UTC) - times[0] < timedelta(minutes=5)
    for event in found:
        assert "X-Amz-" not in event.detail and "Bearer" not in event.detail


def test_a_service_acting_for_an_owner_is_recorded_as_the_service_on_their_behalf(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    media_id = uploaded(stub, auth, unique_user, "req-create-2")
    stub.DeleteMedia(
        pb.DeleteMediaRequest(media_id=media_id), metadata=auth("post-service", role="service")
    )
    stub.DeleteMedia(
        pb.DeleteMediaRequest(media_id=media_id), metadata=auth("post-service", role="service")
    )

    found = events(stub, auth, media_id=media_id)

    assert actions(found) == ["SESSION_CREATED", "DELETED"]  # deleting again changed nothing
    deleted = found[-1]
    assert deleted.actor_kind == pb.MEDIA_EVENT_ACTOR_KIND_SERVICE
    assert (deleted.actor, deleted.on_behalf_of) == ("post-service", unique_user)


def test_a_refused_change_writes_no_event(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    media_id = uploaded(stub, auth, unique_user, "req-create-3")  # PENDING: not attachable
    with pytest.raises(grpc.RpcError) as refused:
        stub.AttachMedia(
            pb.AttachMediaRequest(
                post_id=f"post-{uuid.uuid4().hex[:8]}", owner_id=unique_user, media_ids=[media_id]
            ),
            metadata=auth("post-service", role="service"),
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    assert actions(events(stub, auth, media_id=media_id)) == ["SESSION_CREATED"]


def test_users_may_not_read_the_audit_trail(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        stub.ListMediaEvents(
            pb.ListMediaEventsRequest(owner_id=unique_user), metadata=auth(unique_user)
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "service principals" in (refused.value.details() or "")


def test_a_page_token_serves_only_the_filter_it_was_issued_for(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    for n in range(3):
        uploaded(stub, auth, unique_user, f"req-page-{n}")
    page = stub.ListMediaEvents(
        pb.ListMediaEventsRequest(owner_id=unique_user, page_size=1),
        metadata=auth("auditor", role="service"),
    )
    assert page.next_page_token

    with pytest.raises(grpc.RpcError) as refused:
        stub.ListMediaEvents(
            pb.ListMediaEventsRequest(
                owner_id="someone-else", page_size=1, page_token=page.next_page_token
            ),
            metadata=auth("auditor", role="service"),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(events(stub, auth, owner_id=unique_user)) == 3


def test_events_outlive_the_purged_media_until_their_retention(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    media_id = uploaded(stub, auth, unique_user, "req-create-4")
    stub.DeleteMedia(pb.DeleteMediaRequest(media_id=media_id), metadata=auth(unique_user))
    purging = LifecycleSettings(deleted_retention_hours=0, batch_size=2)
    CleanupService(pipeline_app.ctx, purging).run()
    with pytest.raises(grpc.RpcError) as gone:
        stub.GetMedia(pb.GetMediaRequest(media_id=media_id), metadata=auth(unique_user))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert actions(events(stub, auth, media_id=media_id)) == [
        "SESSION_CREATED",
        "DELETED",
        "PURGED",
    ]

    # Age the events past a one-day retention by the database's own clock.
    with pipeline_app.engine.begin() as connection:
        connection.execute(
            text("UPDATE media_event SET occurred_at = occurred_at - interval '2 days'")
        )
    dry = CleanupService(pipeline_app.ctx, LifecycleSettings(audit_retention_days=1)).run(
        dry_run=True
    )
    assert dry.audit_events_deleted >= 3
    assert len(events(stub, auth, media_id=media_id)) == 3
    report = CleanupService(
        pipeline_app.ctx, LifecycleSettings(audit_retention_days=1, batch_size=2)
    ).run()
    assert report.audit_events_deleted >= 3
    assert events(stub, auth, media_id=media_id) == []


def test_the_time_range_selects_events_by_the_database_clock(
    pipeline_app: Application, stub: Stub, auth: Auth, unique_user: str
) -> None:
    media_id = uploaded(stub, auth, unique_user, "req-create-5")
    (created,) = events(stub, auth, media_id=media_id)
    at = created.occurred_at.ToDatetime(tzinfo=UTC)
    before, after = pb.ListMediaEventsRequest(), pb.ListMediaEventsRequest()
    before.end_time.FromDatetime(at)
    after.start_time.FromDatetime(at)

    assert events(stub, auth, media_id=media_id, end_time=before.end_time) == []
    assert len(events(stub, auth, media_id=media_id, start_time=after.start_time)) == 1
