"""The import policy: which hosts and addresses a legacy URL may lead to."""

from __future__ import annotations

import pytest

from media_grpc.domain.imports import address_allowed, host_allowed, host_listed_exactly


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("utfs.io", True),
        ("abc.utfs.io", True),
        ("ABC.UTFS.IO.", True),
        ("cdn.example.com", True),
        ("evilutfs.io", False),
        ("x.cdn.example.com", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_hosts_are_allowed_by_exact_name_or_dot_suffix(host: str, allowed: bool) -> None:
    assert host_allowed(host, [".utfs.io", "cdn.example.com"]) is allowed


def test_only_entries_without_a_leading_dot_list_a_host_exactly() -> None:
    assert host_listed_exactly("127.0.0.1", ["127.0.0.1", ".localhost"])
    assert not host_listed_exactly("localhost", ["127.0.0.1", ".localhost"])


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "224.0.0.1",
        "::1",
        "fe80::1%eth0",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
    ],
)
def test_private_loopback_link_local_shared_and_metadata_addresses_are_refused(
    address: str,
) -> None:
    assert not address_allowed(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(address)
