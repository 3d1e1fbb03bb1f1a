"""Fetching legacy URLs without opening a way into the network (the import's edge).

Every hop (the URL and each redirect) is checked before any connection: a well-formed URL, http(s)
only, the host and port on the allowlist, and every address it resolves to public unless the host
is listed exactly. One total deadline covers every hop's connect, TLS, headers and body
(``adapters/fetch_deadline.py``).
The connection then goes to an address that was checked (no second DNS lookup an attacker
could answer differently), with the host name kept for the Host header, SNI and certificate.
Driver errors end here as ``ImportRefused`` with a reason a person can act on.
"""

from __future__ import annotations

import abc
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from media_grpc.adapters.fetch_deadline import Deadline, WatchedHTTPPool, WatchedHTTPSPool
from media_grpc.config.imports import ImportSettings
from media_grpc.domain.import_policy import (
    address_refusal,
    check_host,
    host_allowed,
    host_listed_exactly,
    split_url,
)
from media_grpc.domain.imports import ImportReason, ImportRefused

#: Bytes per read of a response body.
CHUNK_BYTES = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, IPv4 and IPv6."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """A vetted hop: where to connect and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: list[str]


@dataclass
class FetchedBody:
    """An open response: its final URL, the length it claims, and its bytes as they come."""

    url: str
    declared_length: int | None
    chunks: Iterator[bytes]


class UrlFetcher(abc.ABC):
    @abc.abstractmethod
    def check(self, url: str) -> Target:
        """Apply the policy to ``url`` without fetching; raises ImportRefused."""

    @abc.abstractmethod
    def open(self, url: str) -> Any:
        """A context manager yielding a FetchedBody, redirects followed; raises ImportRefused."""


class PolicyUrlFetcher(UrlFetcher):
    def __init__(self, settings: ImportSettings, resolver: Resolver = resolve) -> None:
        self.settings = settings
        self.resolver = resolver

    def check(self, url: str) -> Target:
        if not self.settings.enabled:
            raise ImportRefused(
                ImportReason.HOST_NOT_ALLOWED,
                "import is off: no host is allowed (set MEDIA_IMPORT__ALLOWED_HOSTS)",
            )
        parts = split_url(url)
        schemes = {"https", "http"} if self.settings.allow_http else {"https"}
        if parts.scheme not in schemes:
            raise ImportRefused(
                ImportReason.SCHEME_NOT_ALLOWED,
                f"{parts.scheme[:20] or 'no'} scheme: only {' and '.join(sorted(schemes))} URLs "
                "are imported",
            )
        check_host(parts.host)
        host, port, allowed = parts.host, parts.port, self.settings.allowed_hosts
        if not host_allowed(host, allowed, port, parts.default_port):
            raise ImportRefused(
                ImportReason.HOST_NOT_ALLOWED,
                f"host {host[:100]!r} port {port} is not on the import allowlist "
                "(an entry without a port allows the scheme's default port only)",
            )
        try:
            addresses = self.resolver(host, port)
        except (OSError, ValueError):  # UnicodeError of an odd name included
            raise ImportRefused(
                ImportReason.UNREACHABLE, f"host {host[:100]!r} does not resolve"
            ) from None
        if not addresses:
            raise ImportRefused(ImportReason.UNREACHABLE, f"host {host[:100]!r} has no address")
        if not host_listed_exactly(host, allowed, port, parts.default_port):
            refusals = [r for r in map(address_refusal, addresses) if r is not None]
            if refusals:
                raise ImportRefused(
                    ImportReason.ADDRESS_NOT_ALLOWED,
                    f"host {host[:100]!r} resolves to an address that is not fetched from "
                    f"({refusals[0]}); only public addresses are",
                )
        return Target(url, parts.scheme, host, port, parts.path, addresses)

    @contextmanager
    def open(self, url: str) -> Iterator[FetchedBody]:
        with Deadline(self.settings.total_timeout_seconds) as deadline:
            current = url
            for _ in range(self.settings.max_redirects + 1):
                target = self.check(current)
                response, pool = self._get(target, deadline)
                try:
                    if response.status in _REDIRECTS:
                        current = _next_hop(current, response)
                        continue
                    if response.status != 200:
                        raise ImportRefused(
                            ImportReason.HTTP_ERROR,
                            f"the legacy host answered HTTP {response.status} for this URL",
                        )
                    length = response.headers.get("Content-Length")
                    yield FetchedBody(
                        url=current,
                        declared_length=int(length) if length and length.isdigit() else None,
                        chunks=self._chunks(response, deadline),
                    )
                    return
                finally:
                    response.release_conn()
                    pool.close()
            raise ImportRefused(
                ImportReason.TOO_MANY_REDIRECTS,
                f"more than {self.settings.max_redirects} redirects",
            )

    def _get(self, target: Target, deadline: Deadline) -> tuple[Any, Any]:
        """GET from the first checked address that accepts a connection."""
        last: ImportRefused | None = None
        for address in target.addresses:
            pool = self._pool(target, address, deadline)
            try:
                response = pool.urlopen(
                    "GET",
                    target.path,
                    headers={
                        "Host": _host_header(target),
                        "User-Agent": self.settings.user_agent,
                        "Accept-Encoding": "identity",
                    },
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    assert_same_host=False,
                )
                return response, pool
            except (ConnectTimeoutError, NewConnectionError):
                pool.close()
                if deadline.expired:
                    raise _timed_out(self.settings) from None
                last = ImportRefused(
                    ImportReason.UNREACHABLE, f"cannot connect to {target.host[:100]!r}"
                )
            except (HTTPError, OSError, ValueError) as e:
                pool.close()
                if deadline.expired:
                    raise _timed_out(self.settings) from None
                raise _translate(target, e) from None
        raise last or ImportRefused(ImportReason.UNREACHABLE, "no address to connect to")

    def _pool(self, target: Target, address: str, deadline: Deadline) -> Any:
        left = deadline.left()
        timeout = urllib3.Timeout(
            connect=min(self.settings.connect_timeout_seconds, left),
            read=min(self.settings.read_timeout_seconds, left),
        )
        if target.scheme == "https":
            return WatchedHTTPSPool(
                address,
                target.port,
                timeout=timeout,
                maxsize=1,
                retries=False,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                ca_certs=certifi.where(),
                deadline=deadline,
            )
        return WatchedHTTPPool(
            address, target.port, timeout=timeout, maxsize=1, retries=False, deadline=deadline
        )

    def _chunks(self, response: Any, deadline: Deadline) -> Iterator[bytes]:
        while True:
            if deadline.expired:
                raise _timed_out(self.settings)
            try:
                chunk = response.read1(CHUNK_BYTES)
            except (HTTPError, OSError, ValueError) as e:
                if deadline.expired:
                    raise _timed_out(self.settings) from None
                raise _translate_read(self.settings, e) from None
            if not chunk:
                if deadline.expired:  # a shut socket reads as the end of the body
                    raise _timed_out(self.settings)
                return
            yield bytes(chunk)


def _next_hop(current: str, response: Any) -> str:
    location = str(response.headers.get("Location") or "")
    if not location:
        raise ImportRefused(
            ImportReason.HTTP_ERROR,
            f"the legacy host answered HTTP {response.status} without a Location",
        )
    try:
        return urljoin(current, location)
    except ValueError as e:
        raise ImportRefused(
            ImportReason.INVALID_URL, f"the redirect's Location is malformed: {e}"
        ) from None


def _host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def _timed_out(settings: ImportSettings) -> ImportRefused:
    return ImportRefused(
        ImportReason.TIMEOUT,
        f"the download took longer than {settings.total_timeout_seconds:g} s",
    )


def _translate(target: Target, error: Exception) -> ImportRefused:
    if isinstance(error, SSLError):
        return ImportRefused(
            ImportReason.UNREACHABLE,
            f"TLS with {target.host[:100]!r} failed (certificate or handshake)",
        )
    if isinstance(error, ReadTimeoutError):
        return ImportRefused(ImportReason.TIMEOUT, f"{target.host[:100]!r} did not answer in time")
    return ImportRefused(
        ImportReason.UNREACHABLE, f"the connection to {target.host[:100]!r} failed"
    )


def _translate_read(settings: ImportSettings, error: Exception) -> ImportRefused:
    if isinstance(error, ReadTimeoutError | TimeoutError | socket.timeout):
        return ImportRefused(
            ImportReason.TIMEOUT,
            f"the legacy host sent nothing for {settings.read_timeout_seconds:g} s",
        )
    return ImportRefused(ImportReason.UNREACHABLE, "the connection broke during the download")
