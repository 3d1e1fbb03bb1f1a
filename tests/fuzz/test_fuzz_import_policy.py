"""Fuzzing the import URL and address policy: any URL ends as a vetted target or ImportRefused
(INVALID_URL at worst, never INTERNAL), a vetted target is always on the allowlist at its port,
and no address that carries or reaches a private IPv4 passes."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media_grpc.adapters.url_fetcher import PolicyUrlFetcher
from media_grpc.config.imports import ImportSettings
from media_grpc.domain.import_policy import (
    address_refusal,
    allow_entry,
    embedded_ipv4,
    host_allowed,
)
from media_grpc.domain.imports import ImportRefused
from tests.fuzz.budget import fuzz
from tests.fuzz.corpus import ADDRESSES, ALLOW_ENTRIES, URLS

ALLOWED = [".utfs.io", "files.internal", "cdn.example.com:8443", "[2001:db8::5]:443"]
SETTINGS = ImportSettings(allowed_hosts=ALLOWED, allow_http=True)


def fake_resolve(host: str, port: int) -> list[str]:
    """As getaddrinfo: UnicodeError for names IDNA refuses; public addresses otherwise, a
    private one for names starting with ``inside``."""
    host.encode("idna")
    return ["10.0.0.7"] if host.startswith("inside") else ["93.184.216.34"]


FETCHER = PolicyUrlFetcher(SETTINGS, resolver=fake_resolve)

hosts = st.one_of(
    st.sampled_from(
        ["legacy.utfs.io", "inside.utfs.io", "utfs.io", "files.internal", "cdn.example.com"]
    ),
    st.from_regex(r"[a-z0-9.\-_\[\]:%é]{0,30}", fullmatch=True),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
)
urls = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
        st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
        hosts,
        st.sampled_from(["", ":443", ":80", ":8443", ":0", ":99999", ":-1", ":x", ":"]),
        st.text(max_size=20),
    ),
)


def vetted_or_refused(url: str) -> None:
    try:
        target = FETCHER.check(url)
    except ImportRefused:
        return
    assert target.scheme in ("http", "https")
    default = 443 if target.scheme == "https" else 80
    assert host_allowed(target.host, ALLOWED, target.port, default)
    assert (target.addresses and all(address_refusal(a) is None for a in target.addresses)) or (
        target.host.rstrip(".") in ("files.internal",)
    )
    assert target.path.startswith("/") and target.path.isascii()
    assert not any(c.isspace() for c in target.path)


@pytest.mark.parametrize("url", URLS)
def test_corpus_urls_end_as_a_target_or_a_refusal(url: str) -> None:
    vetted_or_refused(url)


@fuzz()
@given(urls)
def test_any_url_ends_as_a_vetted_target_or_a_refusal(url: str) -> None:
    vetted_or_refused(url)


@pytest.mark.parametrize("address", ADDRESSES)
def test_corpus_addresses_are_refused(address: str) -> None:
    assert address_refusal(address) is not None


@fuzz()
@given(st.ip_addresses(v=6))
def test_no_ipv6_address_that_carries_an_ipv4_passes_unless_it_is_mapped_and_public(
    ip: ipaddress.IPv6Address,
) -> None:
    refusal = address_refusal(str(ip))
    carried = embedded_ipv4(ip)
    if refusal is None:
        assert (ip.is_global and not ip.is_multicast) or ip.ipv4_mapped is not None
        assert carried is None or (ip.ipv4_mapped is not None and carried.is_global)


@fuzz()
@given(st.ip_addresses(v=4))
def test_an_ipv4_address_passes_only_when_public_unicast_and_so_does_its_mapped_form(
    ip: ipaddress.IPv4Address,
) -> None:
    passes = address_refusal(str(ip)) is None
    assert passes == (ip.is_global and not ip.is_multicast)
    assert (address_refusal(f"::ffff:{ip}") is None) == passes
    assert address_refusal(f"64:ff9b::{ip}") is not None


@pytest.mark.parametrize("entry", ALLOW_ENTRIES)
def test_corpus_allowlist_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="allowlist entry"):
        allow_entry(entry)


@fuzz()
@given(st.text(max_size=40))
def test_any_allowlist_entry_parses_or_is_a_value_error(entry: str) -> None:
    try:
        host, port = allow_entry(entry)
    except ValueError:
        return
    assert host and (port is None or 0 < port < 65536)
