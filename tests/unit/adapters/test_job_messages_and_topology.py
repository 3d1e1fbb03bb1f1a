"""Jobs on the wire and the queue names of the topology."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from media.v1 import media_pb2

from media_grpc.adapters.job_messages import (
    MalformedJob,
    attempt_of,
    decode_job,
    encode_job,
    job_from_payload,
    job_headers,
    job_to_payload,
)
from media_grpc.adapters.rabbitmq_topology import Topology, delay_label
from media_grpc.domain.jobs import ProcessingJob
from media_grpc.domain.model import JobKind, Purpose

JOB = ProcessingJob(
    job_id="j-1",
    kind=JobKind.VIDEO,
    media_id="m-1",
    owner_id="alice",
    purpose=Purpose.POST_VIDEO,
    storage_key="posts/alice/x.mp4",
    etag='"abc"',
    version_id="v1",
    mime_type="video/mp4",
    size_bytes=123,
    created_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
)


def test_job_survives_a_round_trip_through_its_protobuf_message() -> None:
    assert decode_job(encode_job(JOB)) == JOB


def test_job_survives_a_round_trip_through_its_outbox_payload_as_json() -> None:
    payload = job_to_payload(JOB)
    assert json.loads(json.dumps(payload)) == payload
    assert job_from_payload(payload) == JOB


def test_outbox_payload_names_the_fields_of_the_wire_message() -> None:
    payload = job_to_payload(JOB)
    assert set(payload) == {f.name for f in media_pb2.ProcessingJob.DESCRIPTOR.fields}
    assert (payload["kind"], payload["purpose"]) == ("JOB_KIND_VIDEO", "PURPOSE_POST_VIDEO")
    assert job_to_payload(replace(JOB, version_id=""))["version_id"] == ""


def test_outbox_rows_written_before_the_shared_codec_still_read() -> None:
    legacy = {
        "job_id": "j-1",
        "kind": "VIDEO",
        "media_id": "m-1",
        "owner_id": "alice",
        "purpose": "POST_VIDEO",
        "storage_key": "posts/alice/x.mp4",
        "etag": '"abc"',
        "version_id": "v1",
        "mime_type": "video/mp4",
        "size_bytes": 123,
        "created_at": "2026-01-02T03:04:05.678000+00:00",
    }
    assert job_from_payload(legacy) == JOB


def test_payload_that_is_not_a_job_is_malformed() -> None:
    with pytest.raises(MalformedJob):
        job_from_payload({"job_id": "j", "kind": "SOUND"})
    with pytest.raises(MalformedJob):
        job_from_payload({"kind": "IMAGE", "purpose": "POST_IMAGE"})


def test_body_that_is_not_a_job_is_malformed() -> None:
    with pytest.raises(MalformedJob):
        decode_job(b"\xff\xff\xff")
    with pytest.raises(MalformedJob):
        decode_job(b"")


def test_headers_carry_attempt_and_a_w3c_trace_context_kept_across_retries() -> None:
    first = job_headers(1)
    retry = job_headers(2, str(first["traceparent"]))
    assert attempt_of(first) == 1
    assert attempt_of(retry) == 2
    assert retry["traceparent"] == first["traceparent"]
    version, trace_id, span_id, flags = str(first["traceparent"]).split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
    assert attempt_of(None) == 1


def test_delays_are_named_in_the_largest_whole_unit() -> None:
    assert [delay_label(s) for s in (10, 60, 600, 0.25)] == ["10s", "1m", "10m", "250ms"]


def test_topology_has_work_retry_and_dead_queues_per_kind() -> None:
    topology = Topology("media", (10.0, 60.0, 600.0))
    queues = {topology.queue(key): args for key, args in topology.declarations()}
    assert set(queues) == {
        f"media.{kind}{suffix}"
        for kind in ("image", "video")
        for suffix in ("", ".retry.10s", ".retry.1m", ".retry.10m", ".dead")
    }
    assert queues["media.image"] == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 10,
        "x-dead-letter-exchange": "media",
        "x-dead-letter-routing-key": "image.dead",
    }
    assert queues["media.video.retry.1m"] == {
        "x-message-ttl": 60_000,
        "x-dead-letter-exchange": "media",
        "x-dead-letter-routing-key": "video",
    }
    assert topology.retry_key(JobKind.IMAGE, 2) == "image.retry.10m"
    assert topology.dead_key(JobKind.VIDEO) == "video.dead"
