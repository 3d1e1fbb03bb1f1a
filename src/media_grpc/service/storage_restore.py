"""Media whose objects the embedded S3 could not restore at start-up.

The embedded default keeps its objects on disk; when one cannot be read back (a damaged or
missing file), the media it belongs to is failed with that reason now, instead of surfacing later
as a puzzling OBJECT_MISSING. A READY media cannot become FAILED (the state machine): it is
named in the log instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from media_grpc.domain.lifecycle import TRANSITIONS, mark_failed
from media_grpc.domain.model import Failure, FailureReason, Status
from media_grpc.service.context import ServiceContext

log = logging.getLogger(__name__)

_MEDIA_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def media_ids_in(keys: Iterable[str]) -> dict[str, str]:
    """Media id -> the first lost key naming it (keys embed the media id)."""
    found: dict[str, str] = {}
    for key in keys:
        match = _MEDIA_ID.search(key)
        if match:
            found.setdefault(match.group(0), key)
    return found


def fail_media_of_lost_objects(ctx: ServiceContext, lost: dict[str, str]) -> list[str]:
    """Fail each media of ``lost`` (key -> why) that may still fail; returns their ids."""
    failed: list[str] = []
    for media_id, key in media_ids_in(lost).items():
        with ctx.uow() as uow:
            media = uow.media.get(media_id, for_update=True)
            if media is None or media.status in (Status.FAILED, Status.DELETED):
                continue
            why = (
                f"the embedded S3 could not restore object {key} at start-up ({lost[key]}); "
                "upload the file again"
            )
            if Status.FAILED not in TRANSITIONS[media.status]:
                log.error("media %s (%s): %s", media_id, media.status.value, why)
                continue
            mark_failed(media, Failure(FailureReason.OBJECT_MISSING, why), ctx.now())
            uow.media.save(media)
            uow.commit()
        log.error("media %s failed: %s", media_id, why)
        failed.append(media_id)
    return failed
