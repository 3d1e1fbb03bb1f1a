"""Attachment verdicts to media.v1 messages."""

from __future__ import annotations

from media.v1 import media_pb2

from media_grpc.domain.attachment import Attachability, Verdict

REASON_TO_PB = {
    a: media_pb2.ValidationReason.Value(f"VALIDATION_REASON_{a.value}") for a in Attachability
}


def verdict(value: Verdict) -> media_pb2.MediaVerdict:
    return media_pb2.MediaVerdict(
        media_id=value.media_id, reason=REASON_TO_PB[value.reason], message=value.message
    )


def ownership(value: Verdict) -> media_pb2.ValidateOwnershipResponse:
    return media_pb2.ValidateOwnershipResponse(owned=value.ok, reason=REASON_TO_PB[value.reason])


def validation(values: list[Verdict]) -> media_pb2.ValidateMediaResponse:
    return media_pb2.ValidateMediaResponse(
        verdicts=[verdict(v) for v in values], all_ok=all(v.ok for v in values)
    )
