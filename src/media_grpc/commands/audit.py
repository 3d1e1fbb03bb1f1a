"""`media-grpc audit`: the audit trail of media (service tokens), oldest first, one per line."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

import grpc
from google.protobuf.json_format import MessageToDict
from media.v1 import media_pb2 as pb

from media_grpc.client import ClientError
from media_grpc.client_options import add_client_options, connect, fail
from media_grpc.commands import Subparsers, add_command


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "audit", run)
    parser.add_argument("--media", default="", help="only this media's events")
    parser.add_argument("--owner", default="", help="only this owner's events")
    parser.add_argument("--since", type=_moment, help="only events at or after (ISO 8601, UTC)")
    parser.add_argument("--until", type=_moment, help="only events before (ISO 8601, UTC)")
    parser.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    add_client_options(parser)


def run(args: argparse.Namespace) -> int:
    """list who did what to media, and when (service tokens)"""
    try:
        with connect(args) as client:
            for event in client.events(
                media_id=args.media,
                owner_id=args.owner,
                since=args.since,
                until=args.until,
                limit=args.limit,
            ):
                print(json.dumps(MessageToDict(event)) if args.json else line(event))
    except ClientError as e:
        return fail(str(e))
    except grpc.RpcError as e:
        return fail(f"{e.code().name}: {e.details()}")  # type: ignore[attr-defined]
    return 0


def line(event: pb.MediaEvent) -> str:
    """`time  media  action  outcome  actor [for owner]  request  detail`, for a person."""
    when = event.occurred_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
    action = pb.MediaEventAction.Name(event.action).removeprefix("MEDIA_EVENT_ACTION_").lower()
    kind = pb.MediaEventActorKind.Name(event.actor_kind).removeprefix("MEDIA_EVENT_ACTOR_KIND_")
    actor = f"{kind.lower()}:{event.actor}"
    if event.on_behalf_of:
        actor += f" for {event.on_behalf_of}"
    fields = [when, event.media_id, f"{action:18}", f"{event.outcome:8}", actor]
    if event.request_id:
        fields.append(f"request {event.request_id}")
    if event.detail:
        fields.append(event.detail)
    return "  ".join(fields)


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-12-07T15:00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
