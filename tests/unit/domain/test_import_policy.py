"""The import policy: which hosts and addresses a legacy URL may lead to."""

from __future__ import annotations

import pytest

from media_grpc.config.imports import ImportSettings
from media_grpc.domain.import_policy import (
    address_allowed,
    address_refusal,
    allow_entry,
    check_host,
    host_allowed,
    host_listed_exactly,
    split_url,
)
from media_grpc.domain.imports import ImportRefused


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
    assert host_allowed(host, [".utfs.io", "cdn.example.com"], 443, 443) is allowed


def test_only_entries_without_a_leading_dot_list_a_host_exactly() -> None:
    assert host_listed_exactly("127.0.0.1", ["127.0.0.1", ".localhost"], 80, 80)
    assert not host_listed_exactly("localhost", ["127.0.0.1", ".localhost"], 80, 80)


def test_an_entry_without_a_port_allows_the_default_port_only() -> None:
    assert host_allowed("localhost", ["localhost"], 80, 80)
    assert host_allowed("a.utfs.io", [".utfs.io"], 443, 443)
    assert not host_allowed("localhost", ["localhost"], 18092, 80)
    assert not host_allowed("a.utfs.io", [".utfs.io"], 8443, 443)
    assert not host_listed_exactly("127.0.0.1", ["127.0.0.1"], 5432, 80)


def test_an_entry_with_a_port_allows_that_port_only() -> None:
    allowed = ["localhost:18091", ".utfs.io:8443", "[2001:db8::1]:8443"]
    assert host_allowed("localhost", allowed, 18091, 80)
    assert not host_allowed("localhost", allowed, 18092, 80)
    assert not host_allowed("localhost", allowed, 80, 80)
    assert host_allowed("x.utfs.io", allowed, 8443, 443)
    assert host_allowed("2001:db8::1", allowed, 8443, 443)
    assert host_listed_exactly("localhost", allowed, 18091, 80)


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("cdn.example.com", ("cdn.example.com", None)),
        ("CDN.example.com:8443", ("cdn.example.com", 8443)),
        (".utfs.io", (".utfs.io", None)),
        (".utfs.io:8443", (".utfs.io", 8443)),
        ("[2001:db8::1]:8443", ("2001:db8::1", 8443)),
        ("2001:db8::1", ("2001:db8::1", None)),
    ],
)
def test_allowlist_entries_are_a_host_and_an_optional_port(
    entry: str, parsed: tuple[str, int | None]
) -> None:
    assert allow_entry(entry) == parsed


@pytest.mark.parametrize("entry", ["host:0", "host:70000", "host:http", "bad host", "a..b", ""])
def test_a_malformed_allowlist_entry_stops_the_settings(entry: str) -> None:
    with pytest.raises(ValueError, match="allowlist entry"):
        ImportSettings(allowed_hosts=[entry])


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://localhost..:18091/", "not a valid host"),
        ("http://[localhost]:18091/", "malformed"),
        ("http://[::1/", "malformed"),
        ("http://x:99999/a", "malformed"),
        ("http://x:port/a", "malformed"),
        ("http:///a", "no host"),
        ("http://%41:80/", "not a valid host"),
        ("http://bücher.example/", "punycode"),
        ("http://x:0/a", "port is 0"),
    ],
)
def test_a_malformed_url_is_refused_as_invalid_naming_what_is_wrong(url: str, why: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        check_host(split_url(url).host)
    assert refused.value.reason == "INVALID_URL"
    assert why in refused.value.message


def test_spaces_and_non_ascii_in_the_path_are_percent_encoded() -> None:
    parts = split_url("https://Cdn.Example.com./a b/é.jpg?q=1 2")
    assert (parts.host, parts.port, parts.path) == (
        "cdn.example.com.",
        443,
        "/a%20b/%C3%A9.jpg?q=1%202",
    )


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


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("64:ff9b::a00:5", "NAT64 address (it carries 10.0.0.5)"),
        ("64:ff9b::5db8:d822", "NAT64 address (it carries 93.184.216.34)"),
        ("64:ff9b:1::a00:5", "local-use NAT64 address (it carries 10.0.0.5)"),
        ("2002:a00:5::1", "6to4 address (it carries 10.0.0.5)"),
        ("2002:5db8:d822::1", "6to4 address (it carries 93.184.216.34)"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffa", "Teredo address (it carries 10.0.0.5)"),
        ("::a00:5", "IPv4-compatible address (it carries 10.0.0.5)"),
    ],
)
def test_nat64_6to4_teredo_and_ipv4_compatible_addresses_are_refused_naming_their_ipv4(
    address: str, carried: str
) -> None:
    assert not address_allowed(address)
    assert carried in (address_refusal(address) or "")


def test_something_that_is_not_an_address_is_refused() -> None:
    assert address_refusal("localhost") == "'localhost' is not an IP address"


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(address)
