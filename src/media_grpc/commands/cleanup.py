"""`media-grpc cleanup`: run the lifecycle sweeps once and print what they did."""

from __future__ import annotations

import argparse
import sys

from media_grpc.commands import Subparsers, add_command
from media_grpc.config import Settings


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "cleanup", run)
    parser.add_argument(
        "--dry-run", action="store_true", help="only count what would be cleaned up"
    )


def run(args: argparse.Namespace) -> int:
    """expire abandoned upload sessions, delete unattached media, purge deleted records

    Runs the lifecycle sweeps once (a worker also runs them every
    MEDIA_LIFECYCLE__INTERVAL_SECONDS). Safe to run while another run is going on."""
    from media_grpc.bootstrap import build_application

    settings = Settings()
    if settings.embeds_s3:
        print(
            "media-grpc cleanup: the embedded default keeps its objects inside `media-grpc serve`, "
            "which runs the cleanup itself every MEDIA_LIFECYCLE__INTERVAL_SECONDS; "
            "set MEDIA_S3_ENDPOINT_URL to run it from here",
            file=sys.stderr,
        )
        return 2
    app = build_application(settings)
    try:
        report = app.cleanup().run(dry_run=args.dry_run)
    finally:
        app.close()
    for line in report.lines():
        print(line)
    return 1 if report.errors else 0
