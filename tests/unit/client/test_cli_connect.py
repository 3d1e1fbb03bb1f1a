"""A command gives up in seconds where no server answers, with a message naming the address.

The client library's calls wait for a server that restarts (waitForReady); the commands first
wait a bounded time for one to answer at all, so a wrong address is not a 30 s hang.
"""

from __future__ import annotations

import argparse
import socket

import grpc
import pytest

from media_grpc.client import ClientError
from media_grpc.client_options import add_client_options, connect

WELL_FORMED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"


def closed_port() -> int:
    """A port nothing listens on: bound once for a free number, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_client_options(parser)
    return parser.parse_args(["--token", WELL_FORMED_TOKEN, *argv])


def test_connect_to_an_address_where_nothing_listens_fails_unavailable_naming_it() -> None:
    address = f"127.0.0.1:{closed_port()}"

    with pytest.raises(ClientError) as refused:
        connect(parsed("--address", address, "--connect-timeout", "0.5"))

    assert refused.value.code == grpc.StatusCode.UNAVAILABLE
    assert f"no server answered at {address} within 0.5 s" in str(refused.value)


def test_connect_timeout_defaults_to_ten_seconds() -> None:
    assert parsed().connect_timeout == 10.0
