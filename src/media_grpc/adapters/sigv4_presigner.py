"""SigV4 query presigning (and header signing) for one bucket, without botocore's per-URL
request machinery.

botocore's ``generate_presigned_url`` resolves the endpoint ruleset, serialises a request and
derives the signing key for every URL (about half a millisecond of CPU). The endpoint of one
bucket does not change: it is taken once from botocore itself (a presigned probe URL), and
the signing key is cached per (secret, day). Credentials come from the client's own botocore
credential object on every call (``get_frozen_credentials``), so temporary credentials are
refreshed by botocore as before and a session token is signed into the URL; nothing expiring
is kept. The output is the URL botocore would sign for the same request and second.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

_ALGORITHM = "AWS4-HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PROBE_KEY = "presign-probe"
#: The SHA-256 of an empty body, the payload hash of a signed request without one.
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Frozen(NamedTuple):
    access_key: str
    secret_key: str
    token: str | None


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


class SigV4Presigner:
    """Presigns requests to keys of ``bucket`` through ``client``'s endpoint and credentials.

    Parameters:
        client: a boto3 S3 client (its endpoint, region, addressing style and credentials).
        bucket: the bucket every URL is for.
        clock: the current UTC time; tests pass their own.
    """

    def __init__(
        self, client: Any, bucket: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        probe = urlsplit(
            client.generate_presigned_url(
                "put_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}, ExpiresIn=60
            )
        )
        if not probe.path.endswith("/" + _PROBE_KEY):
            raise ValueError(f"unexpected presigned URL shape: {probe.geturl()}")
        self.prefix = f"{probe.scheme}://{probe.netloc}{probe.path[: -len(_PROBE_KEY)]}"
        self.path_prefix = probe.path[: -len(_PROBE_KEY)]
        self.host = _host(probe.scheme, probe.hostname or "", probe.port)
        self.region = str(client.meta.region_name)
        self.credentials = client._request_signer._credentials  # botocore's, refreshable
        self.clock = clock
        self._keys: dict[tuple[str, str], bytes] = {}

    def presign(
        self,
        method: str,
        key: str,
        *,
        expires_in: int,
        headers: Mapping[str, str],
        query: Mapping[str, str] | None = None,
    ) -> str:
        """The URL; ``headers`` (Host aside) are signed and must be sent as given."""
        creds = self.credentials.get_frozen_credentials()
        now = self.clock()
        signed = {"host": self.host, **{k.lower(): " ".join(v.split()) for k, v in headers.items()}}
        params = dict(query or {})
        params.update(
            {
                "X-Amz-Algorithm": _ALGORITHM,
                "X-Amz-Credential": f"{creds.access_key}/{self._scope(now)}",
                "X-Amz-Date": _stamp(now),
                "X-Amz-Expires": str(expires_in),
                "X-Amz-SignedHeaders": ";".join(sorted(signed)),
            }
        )
        if creds.token is not None:
            params["X-Amz-Security-Token"] = creds.token
        encoded_key = quote(key, safe="/~")
        canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(params.items()))
        signature = self._signature(
            creds, now, method, encoded_key, canonical_query, signed, "UNSIGNED-PAYLOAD"
        )
        return f"{self.prefix}{encoded_key}?{canonical_query}&X-Amz-Signature={signature}"

    def sign(self, method: str, key: str) -> tuple[str, dict[str, str]]:
        """A request without a body, signed in its headers: the URL and the headers to send.

        The URL stays short (a presigned one is long, and urllib3 percent-checks every
        character of it in Python, which cost more CPU than the request itself).
        """
        creds = self.credentials.get_frozen_credentials()
        now = self.clock()
        headers = {"x-amz-content-sha256": _EMPTY_SHA256, "x-amz-date": _stamp(now)}
        if creds.token is not None:
            headers["x-amz-security-token"] = creds.token
        encoded_key = quote(key, safe="/~")
        signed = {"host": self.host, **headers}
        signature = self._signature(creds, now, method, encoded_key, "", signed, _EMPTY_SHA256)
        headers["Authorization"] = (
            f"{_ALGORITHM} Credential={creds.access_key}/{self._scope(now)}, "
            f"SignedHeaders={';'.join(sorted(signed))}, Signature={signature}"
        )
        return f"{self.prefix}{encoded_key}", headers

    def _scope(self, now: datetime) -> str:
        return f"{now.strftime('%Y%m%d')}/{self.region}/s3/aws4_request"

    def _signature(
        self,
        creds: Frozen,
        now: datetime,
        method: str,
        encoded_key: str,
        canonical_query: str,
        signed: Mapping[str, str],
        payload_hash: str,
    ) -> str:
        names = ";".join(sorted(signed))
        canonical = "\n".join(
            (
                method,
                self.path_prefix + encoded_key,
                canonical_query,
                "".join(f"{k}:{signed[k]}\n" for k in sorted(signed)),
                names,
                payload_hash,
            )
        )
        to_sign = "\n".join(
            (
                _ALGORITHM,
                _stamp(now),
                self._scope(now),
                hashlib.sha256(canonical.encode()).hexdigest(),
            )
        )
        return hmac.new(
            self._signing_key(creds.secret_key, now.strftime("%Y%m%d")),
            to_sign.encode(),
            hashlib.sha256,
        ).hexdigest()

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._keys.get((secret, day))
        if cached is None:
            cached = f"AWS4{secret}".encode()
            for part in (day, self.region, "s3", "aws4_request"):
                cached = hmac.new(cached, part.encode(), hashlib.sha256).digest()
            self._keys = {(secret, day): cached}  # one entry: the current secret and day
        return cached


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def _host(scheme: str, hostname: str, port: int | None) -> str:
    """The Host header botocore signs: no default port."""
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return host
