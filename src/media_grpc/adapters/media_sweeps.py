"""The sets of media the lifecycle sweeps act on, and each set as SQL.

``SweepSet`` names a set (the port's ``find_for_sweep`` takes one); ``SWEEP_SETS`` holds its
criteria for ``SqlAlchemyMediaRepository``. The fake repository in tests/fakes.py answers the
same sets in memory, and tests/integration/test_repository_contract.py holds both to them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func

from media_grpc.adapters.orm import MediaRow
from media_grpc.domain.model import Purpose, Status


class SweepSet(StrEnum):
    """The media a lifecycle sweep acts on (service/sweeps.py), given the time ``now`` and the
    sweep's cutoff ``before``; ``find_for_sweep`` answers each, oldest first."""

    #: PENDING media whose session expired before ``now`` (oldest expiry first).
    EXPIRED_PENDING = "expired_pending"
    #: READY media of a post purpose, attached to no post, unchanged since ``before``.
    UNATTACHED_READY = "unattached_ready"
    #: DELETED media deleted before ``before``.
    DELETED = "deleted"
    #: FAILED media whose upload never completed (no pinned ETag), failed before their
    #: session's URLs expired, and whose URLs have expired by ``now``: a late PUT may have
    #: written their key. The sweep moves ``updated_at`` past ``expires_at``.
    FAILED_SESSIONS = "failed_sessions"
    #: FAILED media (refused at completion or failed in processing), unchanged since
    #: ``before``, whose session URLs expired by ``now``.
    FAILED_UPLOADS = "failed_uploads"
    #: Completed media (pinned ETag) that are READY, FAILED or DELETED, whose session URLs
    #: expired by ``now`` and whose upload key was not swept yet: a PUT between completion
    #: and expiry may have written it. The sweep sets ``upload_swept_at`` (oldest expiry first).
    UNSWEPT_UPLOADS = "unswept_uploads"
    #: UPLOADED or PROCESSING media unchanged since ``before``.
    STUCK = "stuck"


_FINAL = [Status.READY.value, Status.FAILED.value, Status.DELETED.value]

#: Each sweep set as SQL: its criteria given ``now`` and ``before``, and the time it is
#: oldest first by.
SWEEP_SETS: dict[
    SweepSet, tuple[Callable[[datetime, datetime], list[ColumnElement[bool]]], Any]
] = {
    SweepSet.EXPIRED_PENDING: (
        lambda now, _before: [MediaRow.status == Status.PENDING.value, MediaRow.expires_at < now],
        MediaRow.expires_at,
    ),
    SweepSet.UNATTACHED_READY: (
        lambda _now, before: [
            MediaRow.status == Status.READY.value,
            MediaRow.post_id.is_(None),
            MediaRow.purpose != Purpose.PROFILE_IMAGE.value,
            MediaRow.updated_at < before,
        ],
        MediaRow.updated_at,
    ),
    SweepSet.DELETED: (
        lambda _now, before: [
            MediaRow.status == Status.DELETED.value,
            func.coalesce(MediaRow.deleted_at, MediaRow.updated_at) < before,
        ],
        MediaRow.updated_at,
    ),
    SweepSet.FAILED_SESSIONS: (
        lambda now, _before: [
            MediaRow.status == Status.FAILED.value,
            MediaRow.etag.is_(None),
            MediaRow.expires_at < now,
            MediaRow.updated_at <= MediaRow.expires_at,
        ],
        MediaRow.updated_at,
    ),
    SweepSet.FAILED_UPLOADS: (
        lambda now, before: [
            MediaRow.status == Status.FAILED.value,
            MediaRow.expires_at < now,
            MediaRow.updated_at < before,
        ],
        MediaRow.updated_at,
    ),
    SweepSet.UNSWEPT_UPLOADS: (
        lambda now, _before: [
            MediaRow.etag.is_not(None),
            MediaRow.upload_swept_at.is_(None),
            MediaRow.expires_at < now,
            MediaRow.status.in_(_FINAL),
        ],
        MediaRow.expires_at,
    ),
    SweepSet.STUCK: (
        lambda _now, before: [
            MediaRow.status.in_([Status.UPLOADED.value, Status.PROCESSING.value]),
            MediaRow.updated_at < before,
        ],
        MediaRow.updated_at,
    ),
}
