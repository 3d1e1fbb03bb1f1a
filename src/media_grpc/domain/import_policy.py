"""Which URLs an import may fetch: only allowlisted hosts and ports, only http(s), and only
public addresses, so that an import can never reach into the network the server runs in (cloud
metadata, databases, admin ports). A host listed exactly is trusted with any address.

An allowlist entry is a host and, optionally, a port (``cdn.example.com:8443``); without one it
allows the scheme's default port only, so that an allowed host is not a way to every service
it runs (nor a port scanner through the failure reasons).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from media_grpc.domain.imports import ImportReason, ImportRefused

DEFAULT_PORTS = {"http": 80, "https": 443}
#: One DNS label: letters, digits, ``-`` (not at either end) and ``_``; 1 to 63 characters.
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
#: Characters left as they are in the path and query; everything else is percent-encoded.
_PATH_SAFE = "!#$%&'()*+,/:;=?@[]~"


@dataclass(frozen=True)
class ImportUrl:
    """A URL split into what the fetcher needs, its host checked for syntax."""

    scheme: str
    host: str
    port: int
    #: Path and query, percent-encoded where the URL had spaces or non-ASCII characters.
    path: str

    @property
    def default_port(self) -> int:
        return DEFAULT_PORTS.get(self.scheme, 0)


def split_url(url: str) -> ImportUrl:
    """``url`` as an ImportUrl; raises ImportRefused(INVALID_URL) naming what is wrong. The host
    may be empty or odd: ``check_host`` says so, once the scheme is known to be http(s)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
        path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), _PATH_SAFE)
    except ValueError as e:  # UnicodeError included
        raise ImportRefused(ImportReason.INVALID_URL, f"the URL is malformed: {e}") from None
    if port == 0:
        raise ImportRefused(ImportReason.INVALID_URL, "the URL's port is 0")
    scheme = parts.scheme.lower()
    return ImportUrl(scheme, host.lower(), port or DEFAULT_PORTS.get(scheme, 0), path)


def check_host(host: str) -> None:
    """Raises ImportRefused(INVALID_URL) unless ``host`` is a valid host name or IP address."""
    if not host:
        raise ImportRefused(ImportReason.INVALID_URL, "the URL has no host")
    if not valid_host(host):
        raise ImportRefused(
            ImportReason.INVALID_URL,
            f"host {host[:100]!r} is not a valid host name or IP address "
            "(non-ASCII names are given in punycode, xn--...)",
        )


def valid_host(host: str) -> bool:
    """An IP address, or a DNS name of valid labels (a trailing dot allowed), 253 at most."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host.lower()
    name = name[:-1] if name.endswith(".") else name
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def allow_entry(entry: str) -> tuple[str, int | None]:
    """An allowlist entry as (host or ``.suffix``, port or None); raises ValueError.

    ``cdn.example.com``, ``cdn.example.com:8443``, ``.utfs.io``, ``.utfs.io:8443``,
    ``[2001:db8::1]:8443``; a bare IPv6 address has no port.
    """
    text = entry.strip().lower()
    has_port = False
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"allowlist entry {entry!r}: write an IPv6 address as [address]:port")
        has_port, port_text = bool(rest), rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        has_port = True
    else:
        host, port_text = text, ""
    host = host.rstrip(".")
    if not valid_host(host.removeprefix(".")):
        raise ValueError(f"allowlist entry {entry!r}: not a host name or IP address")
    if not has_port:
        return host, None
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise ValueError(f"allowlist entry {entry!r}: the port must be 1 to 65535")
    return host, int(port_text)


def _entries(allowed: list[str]) -> list[tuple[str, int | None]]:
    entries = []
    for entry in allowed:
        try:
            entries.append(allow_entry(entry))
        except ValueError:
            continue  # settings refuse such entries at start-up; never allow by accident
    return entries


def _port_matches(port: int, default_port: int, listed: int | None) -> bool:
    return port == (default_port if listed is None else listed)


def host_listed_exactly(
    host: str, allowed: list[str], port: int = 0, default_port: int = 0
) -> bool:
    """``host`` (at ``port``) is an entry of its own, not matched by a ``.suffix``."""
    name = _normal(host)
    return any(
        wanted == name and _port_matches(port, default_port, listed)
        for wanted, listed in _entries(allowed)
        if not wanted.startswith(".")
    )


def host_allowed(host: str, allowed: list[str], port: int = 0, default_port: int = 0) -> bool:
    """Exact names, or ``.suffix`` entries matching the domain and its subdomains, each at its
    listed port or, when it lists none, the scheme's default port only."""
    name = _normal(host)
    if not name:
        return False
    for wanted, listed in _entries(allowed):
        if not _port_matches(port, default_port, listed):
            continue
        if wanted.startswith("."):
            if name == wanted[1:] or name.endswith(wanted):
                return True
        elif name == wanted:
            return True
    return False


#: IPv6 ranges that carry an IPv4 address to a translator or a tunnel: where the packets end
#: up is decided by a box the server cannot see, so they are refused whatever they embed.
_TRANSLATED = (
    (ipaddress.IPv6Network("64:ff9b::/96"), "NAT64"),
    (ipaddress.IPv6Network("64:ff9b:1::/48"), "local-use NAT64"),
    (ipaddress.IPv6Network("2002::/16"), "6to4"),
    (ipaddress.IPv6Network("2001::/32"), "Teredo"),
    (ipaddress.IPv6Network("::/96"), "IPv4-compatible"),
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64 and
    IPv4-compatible: the last 32 bits), or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in network for network, _ in _TRANSLATED):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str) -> str | None:
    """Why ``address`` may not be fetched from, or None when it may: only globally routable
    unicast addresses pass (no private, loopback, link-local such as the cloud metadata at
    169.254.169.254, shared 100.64/10, multicast or reserved ranges). IPv4-mapped IPv6 is
    judged by its IPv4; NAT64, 6to4, Teredo and IPv4-compatible addresses are refused, and the
    message names the IPv4 address they carry."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address[:60]!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        else:
            for network, kind in _TRANSLATED:
                if ip in network:
                    return f"{ip} is a {kind} address (it carries {embedded_ipv4(ip)})"
    if not ip.is_global or ip.is_multicast:
        return f"{ip} is not a public unicast address"
    return None


def address_allowed(address: str) -> bool:
    return address_refusal(address) is None


def _normal(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")
