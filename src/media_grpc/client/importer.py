"""Runs an import file against the server with bounded concurrency and writes the map.

The state lives in the server (ImportMedia is idempotent per URL), so running the same file
again imports nothing twice and a run killed half-way resumes: rows already imported answer
at once. The map has one JSON line per input row, written as each row finishes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from media.v1 import media_pb2 as pb

from media_grpc.client.import_rows import BadRow, ImportRow
from media_grpc.client.media_client import ClientError, MediaClient


@dataclass
class ImportCounts:
    imported: int = 0
    failed: int = 0
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


#: Seconds between tries of a row whose import is in progress elsewhere (ABORTED: a run killed
#: half-way leaves the server finishing that row, and the next run waits for it) or that the
#: server has no room for now (RESOURCE_EXHAUSTED).
BUSY_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

_TRY_AGAIN = frozenset({grpc.StatusCode.ABORTED, grpc.StatusCode.RESOURCE_EXHAUSTED})

#: Called after each row with its map entry and the counts so far.
OnRow = Callable[[dict[str, Any], ImportCounts], None]


class Importer:
    """Parameters:
    client: a MediaClient with a service token.
    concurrency: rows in flight at once.
    wait: follow each media until READY or FAILED (else stop at UPLOADED).
    validate_only: a dry run: the server checks each URL against its policy, fetches nothing.
    """

    def __init__(
        self,
        client: MediaClient,
        *,
        concurrency: int = 4,
        wait: bool = True,
        wait_timeout: float = 900.0,
        validate_only: bool = False,
    ) -> None:
        self.client = client
        self.concurrency = max(1, concurrency)
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.validate_only = validate_only

    def run(
        self, rows: Iterable[ImportRow | BadRow], map_file: IO[str], on_row: OnRow | None = None
    ) -> ImportCounts:
        counts = ImportCounts()
        write = threading.Lock()

        def one(row: ImportRow | BadRow) -> None:
            entry = self._entry(row)
            size = int(entry.pop("size_bytes", 0))
            with counts.lock:
                if entry["status"] in ("FAILED", "INVALID"):
                    counts.failed += 1
                else:
                    counts.imported += 1
                    counts.bytes += size
            with write:
                map_file.write(json.dumps(entry) + "\n")
                map_file.flush()
            if on_row is not None:
                on_row(entry, counts)

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="import") as pool:
            for future in [pool.submit(one, row) for row in rows]:
                future.result()
        return counts

    def _entry(self, row: ImportRow | BadRow) -> dict[str, Any]:
        if isinstance(row, BadRow):
            return {"line": row.line, "url": row.url, "status": "INVALID", "reason": row.problem}
        base: dict[str, Any] = {"line": row.line, "url": row.url}
        try:
            answer = self._import(row)
            if self.validate_only:
                return base | {"status": "VALID"}
            media = answer.media
            if self.wait:
                media = self.client.wait(media.id, timeout=self.wait_timeout)
        except grpc.RpcError as e:
            return base | {"status": "FAILED", "reason": _reason(e), "message": _details(e)}
        except ClientError as e:
            return base | {"status": "FAILED", "reason": "WAIT_TIMEOUT", "message": str(e)}
        return base | _media_fields(media)

    def _import(self, row: ImportRow) -> pb.ImportMediaResponse:
        for pause in (*BUSY_BACKOFF, None):
            try:
                return self.client.import_media(
                    row.url,
                    row.owner_id,
                    row.purpose,
                    post_id=row.post_id,
                    post_position=row.position,
                    validate_only=self.validate_only,
                )
            except grpc.RpcError as e:
                code = e.code()  # type: ignore[attr-defined]
                if code not in _TRY_AGAIN or pause is None:
                    raise
                time.sleep(pause)
        raise AssertionError("unreachable")


def _media_fields(media: pb.Media) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "media_id": media.id,
        "status": pb.Status.Name(media.status).removeprefix("STATUS_"),
        "size_bytes": media.size_bytes,
    }
    urls = {v.name: v.url for v in media.variants}
    if media.hls_url:
        urls["hls"] = media.hls_url
    if urls:
        fields["urls"] = urls
    if media.HasField("failure"):
        fields["reason"] = pb.FailureReason.Name(media.failure.reason).removeprefix(
            "FAILURE_REASON_"
        )
        fields["message"] = media.failure.message
    return fields


def _reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    info = error_details_pb2.ErrorInfo()
    if status is not None and any(detail.Unpack(info) for detail in status.details):
        return str(info.reason)
    return str(error.code().name)  # type: ignore[attr-defined]


def _details(error: grpc.RpcError) -> str:
    return str(error.details())  # type: ignore[attr-defined]


def default_map_path(path: Path) -> Path:
    return path.with_name(path.name + ".map.jsonl")
