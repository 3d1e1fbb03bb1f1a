"""What CreateUploadSession and CompleteUpload cost without gRPC: each part of the use case
called in this process, one thread, against the same PostgreSQL database and S3 store."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from bench.stack import S3Endpoint
from media_grpc.adapters.jwt_tokens import issue_token
from media_grpc.bootstrap import Application, build_application
from media_grpc.config import Settings
from media_grpc.domain.model import Purpose
from media_grpc.domain.principal import Principal
from media_grpc.domain.sniffing import SNIFF_BYTES
from media_grpc.service.uploads import UploadRequest

CALLS = 300
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 248


@dataclass(frozen=True)
class Cost:
    cpu_us: float
    wall_us: float


def cost(call: Callable[[], object], calls: int = CALLS) -> Cost:
    for _ in range(20):
        call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        call()
    return Cost(
        (time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6
    )


def breakdown(database_url: str, s3: S3Endpoint, bucket: str) -> str:
    settings = Settings(
        database_url=database_url,
        s3_endpoint_url=s3.url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,  # type: ignore[arg-type]
        s3_bucket=bucket,
    )
    app = build_application(settings, migrate=False)
    try:
        return _measure(app)
    finally:
        app.close()


def _measure(app: Application) -> str:
    users = itertools.cycle([Principal(f"parts-{n}", False) for n in range(10_000)])
    request = UploadRequest(
        purpose=Purpose.POST_IMAGE,
        file_name="bench.png",
        content_type="image/png",
        size_bytes=len(PNG),
    )
    token = issue_token(app.settings.auth, "parts-user")
    admission = app.uploads.admission
    create = cost(lambda: app.uploads.create_session(next(users), request))
    template = app.uploads.create_session(next(users), request).media
    parts: list[tuple[str, Cost]] = [
        (
            "presign the PUT (SigV4Presigner, adapters/sigv4_presigner.py)",
            cost(
                lambda: app.storage.presign_put(
                    "posts/u/2026/01/01/x.png",
                    content_type="image/png",
                    content_length=len(PNG),
                    sha256_b64=None,
                    expires_in=900,
                )
            ),
        ),
    ]
    if admission is not None:

        def admit() -> None:
            owner = next(users).subject
            media = replace(template, id=app.ctx.new_id(), owner_id=owner)
            media.storage_key = f"parts/{media.id}.png"
            with app.ctx.uow() as uow:  # rolled back on exit
                admission.check_rate(owner, admission.take(uow, owner))
                admission.add(uow, media, app.ctx.now())

        parts.append(
            (
                "admission and INSERT: bucket upsert, INSERT below the PENDING cap, "
                "in a transaction rolled back",
                cost(admit),
            )
        )
    jwt = cost(lambda: app.verifier.principal(token))
    sessions = [app.uploads.create_session(next(users), request) for _ in range(CALLS + 20)]
    for s in sessions:
        app.s3_client.put_object(
            Bucket=app.settings.s3_bucket,
            Key=s.media.storage_key,
            Body=PNG,
            ContentType=s.media.declared_content_type,
        )
    pending = iter(sessions)

    def complete_next() -> object:
        media = next(pending).media
        return app.uploads.complete_upload(Principal(media.owner_id, False), media.id)

    complete = cost(complete_next)
    key = f"bench-parts/{uuid.uuid4().hex}.png"  # an object of its own: completion moves none
    app.s3_client.put_object(
        Bucket=app.settings.s3_bucket, Key=key, Body=PNG, ContentType="image/png"
    )
    owner = Principal(sessions[0].media.owner_id, False)
    load = cost(lambda: app.ctx.load_visible(owner, sessions[0].media.id))
    start = cost(lambda: app.storage.read_start(key, SNIFF_BYTES))
    bucket = app.settings.s3_bucket
    boto = cost(
        lambda: app.s3_client.get_object(
            Bucket=bucket, Key=key, Range=f"bytes=0-{SNIFF_BYTES - 1}"
        )["Body"].read()
    )
    remainder = create.cpu_us - sum(c.cpu_us for _, c in parts)
    lines = [
        f"In this process, without gRPC, one thread, {CALLS} calls each (CPU time: waiting on",
        "PostgreSQL or the S3 store is not in it). Rows marked *measured* ran alone, as written;",
        "the remainder is computed (whole minus the measured rows) and holds the COMMIT and the",
        "domain code. Parts measured alone each open a transaction of their own,",
        "so their sum can differ from the same work inside the one transaction of the use case.",
        "",
        "| part | how | CPU µs/call | share of CreateUploadSession CPU |",
        "|---|---|---:|---:|",
        f"| **CreateUploadSession, whole use case** | measured | {create.cpu_us:,.0f} | 100% |",
    ]
    lines += [
        f"| {name} | measured | {c.cpu_us:,.0f} | {c.cpu_us / create.cpu_us:.0%} |"
        for name, c in parts
    ]
    lines += [
        f"| remainder: COMMIT, domain | computed | {remainder:,.0f} "
        f"| {remainder / create.cpu_us:.0%} |",
        "",
        "Outside the use case, in the interceptor chain of every authenticated RPC: JWT "
        f"verification (PyJWT HS256), measured, {jwt.cpu_us:,.0f} µs/call.",
    ]
    lines += [
        "",
        "| part | CPU µs/call | wall µs/call |",
        "|---|---:|---:|",
        f"| **CompleteUpload, whole use case** | {complete.cpu_us:,.0f} "
        f"| {complete.wall_us:,.0f} |",
        f"| read the media (one statement, no transaction) | {load.cpu_us:,.0f} "
        f"| {load.wall_us:,.0f} |",
        f"| read_start: the ranged GET completion sends (header-signed, botocore's HTTP session "
        f"-> S3) | {start.cpu_us:,.0f} | {start.wall_us:,.0f} |",
        f"| the same GET through boto3 get_object (reference) | {boto.cpu_us:,.0f} "
        f"| {boto.wall_us:,.0f} |",
    ]
    return "\n".join(lines)
