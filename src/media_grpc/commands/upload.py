"""`media-grpc upload FILE --purpose post_image`: upload as a client, resumable, then wait."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Never

from media.v1 import media_pb2 as pb
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from media_grpc.client import ClientError, Progress, Uploader, parse_purpose
from media_grpc.client_options import add_client_options, as_json, connect, describe, fail
from media_grpc.commands import Subparsers, add_command


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "upload", run)
    parser.add_argument("file", type=Path)
    parser.add_argument("--purpose", required=True, help="post_image, post_video or profile_image")
    parser.add_argument("--content-type", help="declared MIME type (default: from the name)")
    parser.add_argument("--parallel", type=int, default=4, help="parts in flight at once (4)")
    parser.add_argument(
        "--limit-rate", type=float, help="bytes per second for the whole upload (unlimited)"
    )
    parser.add_argument("--no-wait", action="store_true", help="do not wait for processing")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait (600)")
    parser.add_argument("--json", action="store_true", help="print the media as JSON")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        action="store_true",
        help="draw the progress bar even when stderr is not a terminal",
    )
    shown.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_client_options(parser)


class BarProgress(Progress):
    """A tqdm bar on stderr, in bytes; log records are written above it while it is drawn."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: tqdm[Never] | None = None

    def start(self, total: int, done: int) -> None:
        self.bar = tqdm(
            total=total,
            initial=done,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=self.label,
            file=sys.stderr,
        )

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run(args: argparse.Namespace) -> int:
    """upload a file (resumes an interrupted upload of the same file)

    Creates an upload session, PUTs the file to storage (in parallel parts when it is large),
    completes the upload and follows the media until it is READY. If it is interrupted, running
    the same command again sends only the missing parts (the state is kept in
    FILE.upload-state.json; a refusal for good removes it). The file's real type is checked
    before anything is sent. The progress bar (on stderr) is drawn when stderr is a terminal."""
    drawn = args.progress or (not args.no_progress and sys.stderr.isatty())
    try:
        purpose = parse_purpose(args.purpose)
        with connect(args) as client, logging_redirect_tqdm():
            uploader = Uploader(
                client,
                content_type=args.content_type,
                parallel=args.parallel,
                limit_rate=args.limit_rate,
                wait=not args.no_wait,
                wait_timeout=args.timeout,
                progress=BarProgress(args.file.name) if drawn else None,
            )
            media = uploader.upload(args.file, purpose)
    except ClientError as e:
        return fail(str(e))
    if args.json:
        print(json.dumps(as_json(media), indent=2))
    else:
        print("\n".join(describe(media)))
    return 0 if media.status != pb.STATUS_FAILED else 1
