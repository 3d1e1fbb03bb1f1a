"""The job codec: processing jobs as media.v1.ProcessingJob, the only field list of a job.

On the wire (RabbitMQ bodies) it is the binary protobuf; in the outbox's JSON column it is the
same message in protobuf's JSON mapping (field names as in the .proto). Besides api/ (and the
client library), this is the only module that imports generated code.
"""

from __future__ import annotations

import secrets
from datetime import UTC
from typing import Any

from google.protobuf import json_format, timestamp_pb2
from media.v1 import media_pb2

from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import JobKind, Purpose

CONTENT_TYPE = "application/x-protobuf"
MESSAGE_TYPE = "media.v1.ProcessingJob"
#: Header holding the attempt number of this delivery, 1 for the first.
ATTEMPT_HEADER = "x-attempt"
#: W3C trace context header, kept across retries.
TRACE_HEADER = "traceparent"

_KIND_TO_PB = {JobKind.IMAGE: media_pb2.JOB_KIND_IMAGE, JobKind.VIDEO: media_pb2.JOB_KIND_VIDEO}
_KIND_FROM_PB = {v: k for k, v in _KIND_TO_PB.items()}
_PURPOSE_TO_PB = {p: media_pb2.Purpose.Value(f"PURPOSE_{p.value}") for p in Purpose}
_PURPOSE_FROM_PB = {v: k for k, v in _PURPOSE_TO_PB.items()}


class MalformedJob(ValueError):
    """A message body that is not a media.v1.ProcessingJob this service can run."""


#: Fields the domain job and the message hold alike; kind, purpose and created_at convert.
_PLAIN_FIELDS = (
    "job_id",
    "media_id",
    "owner_id",
    "storage_key",
    "etag",
    "version_id",
    "mime_type",
    "size_bytes",
)


def _to_message(job: ProcessingJob) -> media_pb2.ProcessingJob:
    created = timestamp_pb2.Timestamp()
    created.FromDatetime(job.created_at)
    return media_pb2.ProcessingJob(
        kind=_KIND_TO_PB[job.kind],
        purpose=_PURPOSE_TO_PB[job.purpose],
        created_at=created,
        **{name: getattr(job, name) for name in _PLAIN_FIELDS},
    )


def _from_message(message: media_pb2.ProcessingJob) -> ProcessingJob:
    if message.kind not in _KIND_FROM_PB or message.purpose not in _PURPOSE_FROM_PB:
        raise MalformedJob(f"job {message.job_id!r} has no known kind or purpose")
    if not message.job_id or not message.media_id:
        raise MalformedJob("job without job_id or media_id")
    return ProcessingJob(
        kind=_KIND_FROM_PB[message.kind],
        purpose=_PURPOSE_FROM_PB[message.purpose],
        created_at=message.created_at.ToDatetime(tzinfo=UTC),
        **{name: getattr(message, name) for name in _PLAIN_FIELDS},
    )


def encode_job(job: ProcessingJob) -> bytes:
    """The message body on the wire."""
    return bytes(_to_message(job).SerializeToString())


def decode_job(body: bytes) -> ProcessingJob:
    message = media_pb2.ProcessingJob()
    try:
        message.ParseFromString(body)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError or RuntimeError
        raise MalformedJob(f"not a media.v1.ProcessingJob: {e}") from None
    return _from_message(message)


def job_to_payload(job: ProcessingJob) -> dict[str, Any]:
    """The outbox row's JSON payload: the same message in protobuf's JSON mapping."""
    return dict(
        json_format.MessageToDict(
            _to_message(job),
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
    )


#: Enum values as outbox rows written before the codec was shared spelled them ("IMAGE").
_LEGACY_PREFIXES = {"kind": "JOB_KIND_", "purpose": "PURPOSE_"}


def job_from_payload(payload: dict[str, Any]) -> ProcessingJob:
    fields = dict(payload)
    for name, prefix in _LEGACY_PREFIXES.items():
        value = fields.get(name)
        if isinstance(value, str) and not value.startswith(prefix):
            fields[name] = prefix + value
    message = media_pb2.ProcessingJob()
    try:
        json_format.ParseDict(fields, message)
    except json_format.ParseError as e:
        raise MalformedJob(f"not a media.v1.ProcessingJob: {e}") from None
    return _from_message(message)


def new_traceparent() -> str:
    """A fresh W3C trace context: version 00, random trace and span ids, sampled."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def job_headers(attempt: int, traceparent: str | None = None) -> dict[str, object]:
    return {ATTEMPT_HEADER: attempt, TRACE_HEADER: traceparent or new_traceparent()}


def attempt_of(headers: dict[str, object] | None) -> int:
    value = (headers or {}).get(ATTEMPT_HEADER, 1)
    return value if isinstance(value, int) and value >= 1 else 1
