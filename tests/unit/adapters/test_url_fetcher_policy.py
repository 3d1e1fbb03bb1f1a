"""PolicyUrlFetcher.check: every refusal happens before any connection (the resolver is fake)."""

from __future__ import annotations

import pytest

from media_grpc.adapters.url_fetcher import PolicyUrlFetcher
from media_grpc.config.imports import ImportSettings
from media_grpc.domain.imports import ImportRefused

ADDRESSES = {
    "legacy.utfs.io": ["93.184.216.34"],
    "rebound.utfs.io": ["93.184.216.34", "169.254.169.254"],
    "inside.utfs.io": ["10.0.0.7"],
    "files.internal": ["10.0.0.8"],
    "nat64.utfs.io": ["64:ff9b::a00:5"],
    "sixtofour.utfs.io": ["2002:a00:5::1"],
}


def fake_resolve(host: str, port: int) -> list[str]:
    host.encode("idna")  # as socket.getaddrinfo does: UnicodeError for an odd name
    if host not in ADDRESSES:
        raise OSError("no such host")
    return ADDRESSES[host]


def fetcher(**settings: object) -> PolicyUrlFetcher:
    configured = ImportSettings(allowed_hosts=[".utfs.io", "files.internal"], **settings)  # type: ignore[arg-type]
    return PolicyUrlFetcher(configured, resolver=fake_resolve)


def reason(url: str, **settings: object) -> str:
    with pytest.raises(ImportRefused) as refused:
        fetcher(**settings).check(url)
    return refused.value.reason


def test_a_public_allowlisted_https_url_passes_with_its_checked_addresses() -> None:
    target = fetcher().check("https://legacy.utfs.io/f/abc.jpg?x=1")

    assert (target.host, target.port, target.path) == ("legacy.utfs.io", 443, "/f/abc.jpg?x=1")
    assert target.addresses == ["93.184.216.34"]


def test_import_is_off_with_an_empty_allowlist() -> None:
    with pytest.raises(ImportRefused) as refused:
        PolicyUrlFetcher(ImportSettings(), resolver=fake_resolve).check("https://legacy.utfs.io/a")

    assert refused.value.reason == "HOST_NOT_ALLOWED"
    assert "MEDIA_IMPORT__ALLOWED_HOSTS" in refused.value.message


def test_plain_http_is_refused_unless_allowed() -> None:
    assert reason("http://legacy.utfs.io/a.jpg") == "SCHEME_NOT_ALLOWED"
    assert fetcher(allow_http=True).check("http://legacy.utfs.io/a.jpg").port == 80


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://legacy.utfs.io/a", "gopher://x"])
def test_other_schemes_are_refused(url: str) -> None:
    assert reason(url) == "SCHEME_NOT_ALLOWED"


def test_a_host_that_resolves_to_any_private_address_is_refused() -> None:
    assert reason("https://rebound.utfs.io/a.jpg") == "ADDRESS_NOT_ALLOWED"
    assert reason("https://inside.utfs.io/a.jpg") == "ADDRESS_NOT_ALLOWED"


def test_a_host_listed_exactly_may_resolve_to_a_private_address() -> None:
    assert fetcher().check("https://files.internal/a.jpg").addresses == ["10.0.0.8"]


def test_a_host_that_does_not_resolve_is_unreachable() -> None:
    assert reason("https://gone.utfs.io/a.jpg") == "UNREACHABLE"


def test_user_info_does_not_smuggle_another_host() -> None:
    assert reason("https://legacy.utfs.io@169.254.169.254/latest") == "HOST_NOT_ALLOWED"


def test_hosts_behind_nat64_or_6to4_are_refused_naming_the_ipv4_they_carry() -> None:
    with pytest.raises(ImportRefused) as refused:
        fetcher().check("https://nat64.utfs.io/a.jpg")
    assert refused.value.reason == "ADDRESS_NOT_ALLOWED"
    assert "NAT64" in refused.value.message and "10.0.0.5" in refused.value.message
    assert reason("https://sixtofour.utfs.io/a.jpg") == "ADDRESS_NOT_ALLOWED"


def test_another_port_of_an_allowed_host_is_not_allowed() -> None:
    assert reason("https://legacy.utfs.io:8443/a.jpg") == "HOST_NOT_ALLOWED"
    assert reason("https://files.internal:5432/") == "HOST_NOT_ALLOWED"
    listed = PolicyUrlFetcher(
        ImportSettings(allowed_hosts=["legacy.utfs.io:8443"]), resolver=fake_resolve
    )
    assert listed.check("https://legacy.utfs.io:8443/a.jpg").port == 8443
    with pytest.raises(ImportRefused):
        listed.check("https://legacy.utfs.io/a.jpg")


@pytest.mark.parametrize(
    "url", ["https://legacy.utfs.io..:443/", "https://[legacy.utfs.io]/", "https://a:99999/"]
)
def test_a_malformed_url_is_invalid_before_any_lookup(url: str) -> None:
    assert reason(url) == "INVALID_URL"
