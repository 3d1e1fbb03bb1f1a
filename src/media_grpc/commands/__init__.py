"""One module per `media-grpc` sub-command; each exposes ``register(subparsers)``.

A server-side command imports what it runs inside its ``run``, not at the top of its module:
`media-grpc --help` and the client commands then load none of the server (SQLAlchemy, boto3,
Pillow, PyAV).
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import TypeAlias

#: What ``register`` adds its sub-command to (argparse's own type is private).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
#: What a sub-command runs: the parsed arguments in, the exit status out.
Handler: TypeAlias = Callable[[argparse.Namespace], int]


def add_command(subparsers: Subparsers, name: str, run: Handler) -> argparse.ArgumentParser:
    """The sub-command ``name``, documented by ``run``'s docstring: its first paragraph is the
    line in the command list, the rest heads its ``--help``. Parsing it selects ``run``
    (``args.handler``)."""
    summary, _, details = (inspect.getdoc(run) or "").partition("\n\n")
    parser = subparsers.add_parser(name, help=summary, description=details or None)
    parser.set_defaults(handler=run)
    return parser
