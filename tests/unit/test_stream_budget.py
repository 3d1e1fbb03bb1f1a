"""The stream budget: strangers' streams have their own caps (server, peer address, connection)
and never take the reserve kept for callers with a token."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from media_grpc.api.stream_budget import StreamBudget, peer_address
from media_grpc.config.streams import StreamSettings
from media_grpc.domain.errors import ResourceExhausted

SMALL = StreamSettings(max_open=10, public_max_open=6, public_per_peer=4, public_per_connection=2)


def conn(ip: str, port: int) -> str:
    return f"ipv6:[{ip}]:{port}" if ":" in ip else f"ipv4:{ip}:{port}"


def test_peer_address_drops_the_port_of_ipv4_and_ipv6_peers() -> None:
    assert peer_address("ipv4:10.0.0.5:4242") == "10.0.0.5"
    assert peer_address("ipv6:[2001:db8::1]:4242") == "2001:db8::1"
    assert peer_address("unix:/run/media.sock") == "unix:/run/media.sock"


def test_a_connection_holds_at_most_its_share_of_public_streams() -> None:
    budget = StreamBudget(SMALL)
    budget.admit(public=True, peer=conn("10.0.0.1", 1))
    budget.admit(public=True, peer=conn("10.0.0.1", 1))
    with pytest.raises(ResourceExhausted, match="this connection already holds 2"):
        budget.admit(public=True, peer=conn("10.0.0.1", 1))
    budget.admit(public=True, peer=conn("10.0.0.1", 2))  # another connection of the same peer


def test_a_peer_address_holds_at_most_its_share_over_all_its_connections() -> None:
    budget = StreamBudget(SMALL)
    for port in range(4):
        budget.admit(public=True, peer=conn("10.0.0.1", port))
    with pytest.raises(ResourceExhausted, match="your address already holds 4"):
        budget.admit(public=True, peer=conn("10.0.0.1", 99))
    budget.admit(public=True, peer=conn("10.0.0.2", 1))


def test_public_streams_stop_at_their_cap_and_leave_the_reserve_to_tokens() -> None:
    budget = StreamBudget(SMALL)
    for i in range(6):
        budget.admit(public=True, peer=conn(f"10.0.0.{i}", 1))
    with pytest.raises(ResourceExhausted, match="6 streams without a token") as refused:
        budget.admit(public=True, peer=conn("10.0.1.1", 1))
    for _ in range(4):
        budget.admit(public=False, peer=conn("10.0.0.1", 1))
    with pytest.raises(ResourceExhausted, match="already holds 10 open streams"):
        budget.admit(public=False, peer=conn("10.0.0.1", 1))
    assert refused.value.retry_after_seconds == SMALL.retry_after_seconds


def test_released_streams_free_every_count_and_forget_the_peer() -> None:
    budget = StreamBudget(SMALL)
    tickets = [budget.admit(public=True, peer=conn("2001:db8::1", p)) for p in range(2)]
    token = budget.admit(public=False, peer=conn("2001:db8::1", 0))
    for ticket in [*tickets, token]:
        budget.release(ticket)
    assert (budget.open, budget.public_open) == (0, 0)
    assert not budget.by_peer and not budget.by_connection


def test_the_public_cap_must_stay_below_the_server_wide_cap() -> None:
    with pytest.raises(ValidationError, match="reserve of authenticated streams"):
        StreamSettings(max_open=100, public_max_open=100)
    assert StreamSettings().authenticated_reserve == 9_000
