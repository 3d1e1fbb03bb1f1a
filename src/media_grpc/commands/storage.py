"""`media-grpc storage init|check`: set up the bucket; report what it enforces of presigned PUTs.

Exit codes of ``check``: 0 when every protection the service relies on is enforced (or the
endpoint is a development endpoint), 1 when one is missing, 2 when the check cannot run.
"""

from __future__ import annotations

import argparse
import sys

from media_grpc.commands import Subparsers, add_command
from media_grpc.config import Settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("storage", help="set up and check the bucket")
    commands = parser.add_subparsers(dest="storage_command", required=True)
    add_command(commands, "init", run_init)
    add_command(commands, "check", run_check)


def _unreachable_hint(settings: Settings) -> str:
    if settings.embeds_s3:
        return (
            " (the embedded S3 endpoint lives inside `media-grpc serve`: start it, "
            "or set MEDIA_S3_ENDPOINT_URL)"
        )
    return ""


def run_init(_args: argparse.Namespace) -> int:
    """create the bucket, its CORS rule and its multipart clean-up rule"""
    from media_grpc.bootstrap import build_storage_client
    from media_grpc.storage_admin.setup import StorageSetupError, set_up_bucket

    settings = Settings()
    client = build_storage_client(settings)
    try:
        lines = set_up_bucket(client, settings.s3_bucket, settings.s3_region, settings.storage)
    except StorageSetupError as e:
        print(f"media-grpc: storage init: {e}{_unreachable_hint(settings)}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def run_check(_args: argparse.Namespace) -> int:
    """report which protections of presigned uploads the storage enforces"""
    from media_grpc.bootstrap import build_storage_client
    from media_grpc.storage_admin.checks import check_storage
    from media_grpc.storage_admin.conformance import StorageCheckError

    settings = Settings()
    try:
        report = check_storage(build_storage_client(settings), settings)
    except StorageCheckError as e:
        print(f"media-grpc: storage check: {e}{_unreachable_hint(settings)}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return report.exit_code
