"""`media-grpc dedupe backfill`: hash the originals of media READY before dedupe existed.

Exit codes: 0 when no media failed, 1 when storage failed for one (the next run tries again),
2 when the command cannot run.
"""

from __future__ import annotations

import argparse
import sys

from media_grpc.commands import Subparsers, add_command
from media_grpc.config import Settings

#: Media one run reads at most, unless --limit says otherwise.
DEFAULT_LIMIT = 1000


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("dedupe", help="backfill the verified hashes dedupe matches on")
    commands = parser.add_subparsers(dest="dedupe_command", required=True)
    backfill = add_command(commands, "backfill", run_backfill)
    backfill.add_argument(
        "--limit",
        type=_positive,
        default=DEFAULT_LIMIT,
        help=f"read at most this many originals in this run (default {DEFAULT_LIMIT})",
    )
    backfill.add_argument("--owner", help="only this owner's media")
    backfill.add_argument(
        "--dry-run", action="store_true", help="only count the media without a verified hash"
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_backfill(args: argparse.Namespace) -> int:
    """hash the originals of media READY before dedupe, so that they match uploads again

    Media that became READY before migration 0008 have no verified sha256, so a new upload of
    the same bytes never matches them. This reads each one's original once (pinned to the
    ETag completion recorded), hashes it and records the hash. Archived originals are
    skipped, not restored. Safe to run while the service runs, and again: what is left is
    counted as remaining."""
    from media_grpc.bootstrap import build_application

    settings = Settings()
    if settings.embeds_s3:
        print(
            "media-grpc dedupe backfill: the embedded default keeps its objects inside "
            "`media-grpc serve`; set MEDIA_S3_ENDPOINT_URL to run it from here",
            file=sys.stderr,
        )
        return 2
    app = build_application(settings)
    try:
        report = app.hash_backfill().run(
            limit=args.limit, owner_id=args.owner, dry_run=args.dry_run
        )
    finally:
        app.close()
    for line in report.lines():
        print(line)
    return 1 if report.errors else 0
