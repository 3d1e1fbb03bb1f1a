"""The `media-grpc` command."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from pydantic import ValidationError

from media_grpc.commands import (
    audit,
    call,
    cleanup,
    dedupe,
    get,
    import_media,
    ls,
    migrate,
    relay,
    serve,
    storage,
    token,
    upload,
    watch,
    worker,
)
from media_grpc.config import Settings, SettingsError
from media_grpc.observability.logs import LogFormat, configure_logging

COMMANDS = (
    serve,
    worker,
    relay,
    migrate,
    token,
    storage,
    cleanup,
    dedupe,
    upload,
    import_media,
    get,
    ls,
    watch,
    audit,
    call,
)
#: Commands that log JSON by default in production: their logs go to a collector.
LONG_RUNNING = frozenset({"serve", "worker", "relay"})
#: Commands a person runs as a client of the server: quiet (warnings only) in a pipe.
CLIENT_COMMANDS = frozenset({"upload", "import", "get", "ls", "watch", "call"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="media-grpc", description="Self-hosted media upload and processing over gRPC."
    )
    parser.add_argument(
        "--log-level",
        help="DEBUG, INFO, WARNING (INFO; WARNING for the client commands when stderr is not "
        "a terminal, so that they are quiet in a pipe)",
    )
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        help="json (one object per line; the default of serve, worker and relay in production) "
        "or text (the default otherwise)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def default_log_format(command: str) -> LogFormat:
    """JSON for the long-running commands in production (their logs go to a collector);
    text for people: interactive commands, and the development default."""
    try:
        production = Settings().is_production
    except ValidationError:
        production = False  # the command itself reports the configuration error
    return "json" if production and command in LONG_RUNNING else "text"


def default_log_level(command: str) -> str:
    """INFO, but WARNING for a client command whose stderr is no terminal (a script, a pipe)."""
    return "WARNING" if command in CLIENT_COMMANDS and not sys.stderr.isatty() else "INFO"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.log_level = args.log_level or default_log_level(args.command)  # serve hands it on
    configure_logging(args.log_level, args.log_format or default_log_format(args.command))
    try:
        status = int(args.handler(args))
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except BrokenPipeError:
        return stop_writing_to_a_closed_pipe()
    except (SettingsError, ValidationError) as e:
        print(f"media-grpc: configuration error: {e}", file=sys.stderr)
        return 2


def stop_writing_to_a_closed_pipe() -> int:
    """The reader of stdout went away (``| head``): end quietly, as a tool killed by SIGPIPE
    would, with its status. stdout goes to /dev/null so that the flush at exit is silent."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
