"""`media-grpc token`: print a bearer token signed with the configured HS256 secret."""

from __future__ import annotations

import argparse
import sys

from media_grpc.commands import Subparsers, add_command
from media_grpc.config import Settings


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "token", run)
    parser.add_argument("--user", required=True, help="subject: the user (or service) id")
    parser.add_argument("--role", help="role claim, e.g. 'service' for the post service")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (3600)")


def run(args: argparse.Namespace) -> int:
    """print a development bearer token (for grpcurl and tests)"""
    from media_grpc.adapters.jwt_tokens import issue_token

    settings = Settings()
    if settings.auth.uses_public_key:
        print(
            "media-grpc token signs HS256 with the shared secret, but this server verifies "
            "tokens with MEDIA_AUTH__JWT_PUBLIC_KEY: issue tokens with your identity provider",
            file=sys.stderr,
        )
        return 2
    print(issue_token(settings.auth, args.user, role=args.role, ttl_seconds=args.ttl))
    return 0
