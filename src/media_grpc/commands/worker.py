"""`media-grpc worker`: consume processing jobs from RabbitMQ until SIGTERM."""

from __future__ import annotations

import argparse

from media_grpc.commands import Subparsers, add_command
from media_grpc.config import Settings, SettingsError
from media_grpc.domain.model import JobKind


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "worker", run)
    parser.add_argument(
        "--kinds",
        type=_kinds,
        default=list(JobKind),
        help="job kinds to consume, comma-separated (default: image,video)",
    )


def _kinds(value: str) -> list[JobKind]:
    try:
        return [JobKind(k.strip().upper()) for k in value.split(",") if k.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: kinds are image and video") from None


def run(args: argparse.Namespace) -> int:
    """process uploaded media from RabbitMQ"""
    from media_grpc.runtime.working import work

    settings = Settings()
    if not settings.broker_url or not settings.s3_endpoint_url:
        raise SettingsError(
            "media-grpc worker needs MEDIA_BROKER_URL and MEDIA_S3_ENDPOINT_URL (the server's "
            "storage); without a broker `media-grpc serve` processes uploads itself"
        )
    return work(settings, args.kinds)
