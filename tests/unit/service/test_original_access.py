"""Originals are private: a presigned GET for the owner and services, nothing for others."""

from __future__ import annotations

import pytest

from media_grpc.domain.keys import frozen_original_key
from media_grpc.domain.model import Failure, FailureReason, Status
from media_grpc.domain.principal import Principal
from media_grpc.service.context import ServiceContext
from media_grpc.service.queries import MediaQueries
from tests.media_records import make_media


@pytest.mark.parametrize("caller", [Principal("alice"), Principal("post-service", is_service=True)])
def test_the_owner_and_services_get_a_short_lived_presigned_get_of_the_original(
    fake_ctx: ServiceContext, caller: Principal
) -> None:
    media = make_media("alice")

    url = MediaQueries(fake_ctx, original_url_ttl_seconds=120).original_url(caller, media)

    assert media.status is Status.READY
    assert url == f"memory://{frozen_original_key(media.storage_key)}?method=GET&expires=120"


def test_the_url_follows_the_original_from_the_upload_key_to_the_frozen_copy(
    fake_ctx: ServiceContext,
) -> None:
    uploaded = make_media("alice", status=Status.UPLOADED)
    timed_out = make_media("alice", status=Status.FAILED)
    timed_out.failure = Failure(FailureReason.TIMEOUT, "took too long")
    corrupt = make_media("alice", status=Status.FAILED)
    corrupt.failure = Failure(FailureReason.CORRUPT, "broken")
    queries, alice = MediaQueries(fake_ctx), Principal("alice")

    assert f"memory://{uploaded.storage_key}?" in str(queries.original_url(alice, uploaded))
    assert frozen_original_key(timed_out.storage_key) in str(queries.original_url(alice, timed_out))
    assert queries.original_url(alice, corrupt) is None


def test_anyone_else_gets_no_url_of_the_original(fake_ctx: ServiceContext) -> None:
    media = make_media("alice")

    assert MediaQueries(fake_ctx).original_url(Principal("bob"), media) is None


@pytest.mark.parametrize("status", [Status.PENDING, Status.DELETED])
def test_there_is_no_original_url_before_completion_or_after_deletion(
    fake_ctx: ServiceContext, status: Status
) -> None:
    media = make_media("alice", status=status)

    assert MediaQueries(fake_ctx).original_url(Principal("alice"), media) is None
