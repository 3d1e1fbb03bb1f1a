"""Checks the SigV4 signature of a request to the embedded S3, as S3 does.

The signature is recomputed by botocore's own signers (``S3SigV4Auth`` for an Authorization
header, ``S3SigV4QueryAuth`` for a presigned URL) over the request as it arrived: its method, its
path as sent, its query without ``X-Amz-Signature``, and exactly the headers it says it signed.
Nothing of the SigV4 algorithm is written here; this module only takes the request apart, checks
the dates and compares signatures in constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_ALGORITHM = "AWS4-HMAC-SHA256"
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
#: How far a request's X-Amz-Date may be from the server's clock (S3: 15 minutes).
MAX_SKEW = timedelta(minutes=15)
#: The longest validity of a presigned URL (S3: 7 days).
MAX_EXPIRES_SECONDS = 7 * 24 * 3600


class SignatureRefused(Exception):
    """The request is not signed as S3 requires; ``code`` and ``status`` are S3's answer."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class SignedRequest:
    """What a valid signature vouches for.

    ``payload_sha256`` is the body's declared SHA-256 (hex) the server must check while reading
    it, or None when the payload is unsigned (a presigned URL, ``UNSIGNED-PAYLOAD``).
    """

    access_key: str
    payload_sha256: str | None


@dataclass(frozen=True)
class Arrived:
    """A request as it arrived: ``raw_path`` as sent (percent-encoded), ``query`` decoded pairs,
    ``headers`` with lower-case names."""

    method: str
    raw_path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]

    def to_sign(self, signed: list[str]) -> AWSRequest:
        """The request botocore signs: only the ``signed`` headers, which must all be here."""
        missing = [name for name in signed if name not in self.headers]
        if missing:
            raise SignatureRefused(
                "SignatureDoesNotMatch", f"signed header {missing[0]} was not sent"
            )
        return AWSRequest(
            method=self.method,
            url=f"http://{self.headers['host']}{self.raw_path}",
            headers={name: self.headers[name] for name in signed},
            params=list(self.query),  # type: ignore[arg-type]  # botocore signs pairs as a mapping
        )


def _parse_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, _TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRefused(
            "AccessDenied", f"X-Amz-Date {value!r} is not an ISO 8601 basic timestamp"
        ) from None


def _split_credential(credential: str) -> tuple[str, str, str, str]:
    """``AKID/20260101/region/s3/aws4_request`` -> (access key, day, region, service)."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureRefused("AuthorizationHeaderMalformed", "malformed credential scope", 400)
    return parts[0], parts[1], parts[2], parts[3]


def _header_fields(authorization: str) -> dict[str, str]:
    """The fields of ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != _ALGORITHM:
        raise SignatureRefused(
            "InvalidRequest", "only AWS4-HMAC-SHA256 (SigV4) signatures are accepted", 400
        )
    fields = {}
    for item in rest.split(","):
        name, _, value = item.strip().partition("=")
        fields[name] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise SignatureRefused(
            "AuthorizationHeaderMalformed", "the Authorization header misses a field", 400
        )
    return fields


class SigV4Checker:
    """Checks requests signed with one access key pair.

    Parameters:
        access_key: the only access key id accepted.
        secret_key: its secret.
        clock: the current UTC time; tests pass their own.
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.credentials = Credentials(access_key, secret_key)
        self._now = clock

    def check(
        self,
        method: str,
        raw_path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
    ) -> SignedRequest:
        """Check a request given by its parts (see ``Arrived``). Raises
        :class:`SignatureRefused`."""
        return self.check_arrived(Arrived(method, raw_path, query, headers))

    def check_arrived(self, arrived: Arrived) -> SignedRequest:
        """Check ``arrived``. Raises :class:`SignatureRefused`."""
        authorization = arrived.headers.get("authorization")
        if authorization:
            return self._check_header(arrived, authorization)
        return self._check_query(arrived)

    def _check_header(self, arrived: Arrived, authorization: str) -> SignedRequest:
        fields = _header_fields(authorization)
        headers = arrived.headers
        amz_date = headers.get("x-amz-date", "")
        if not amz_date:
            raise SignatureRefused("AccessDenied", "AWS authentication requires X-Amz-Date")
        payload = headers.get("x-amz-content-sha256")
        if not payload:
            raise SignatureRefused(
                "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
            )
        signed = fields["SignedHeaders"].split(";")
        if "x-amz-content-sha256" not in signed or "host" not in signed:
            raise SignatureRefused(
                "AccessDenied", "host and x-amz-content-sha256 must be signed headers"
            )
        self._check_now(_parse_date(amz_date))
        self._check_fresh(amz_date, fields["Credential"])
        auth = self._signer(S3SigV4Auth, fields["Credential"])
        self._compare(auth, arrived.to_sign(signed), amz_date, fields["Signature"])
        if payload == "UNSIGNED-PAYLOAD":
            return SignedRequest(self.credentials.access_key, None)
        if payload.startswith("STREAMING-"):
            raise SignatureRefused(
                "NotImplemented", "aws-chunked (streaming) payloads are not supported", 501
            )
        return SignedRequest(self.credentials.access_key, payload.lower())

    def _check_query(self, arrived: Arrived) -> SignedRequest:
        params = dict(arrived.query)
        if params.get("X-Amz-Algorithm") != _ALGORITHM:
            raise SignatureRefused(
                "AuthorizationQueryParametersError",
                "X-Amz-Algorithm must be AWS4-HMAC-SHA256 (SigV2 is not accepted)",
                400,
            )
        required = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")
        if any(not params.get(name) for name in required):
            raise SignatureRefused(
                "AuthorizationQueryParametersError",
                "a presigned URL needs X-Amz-Credential, -Date, -Expires and -SignedHeaders",
                400,
            )
        try:
            expires = int(params["X-Amz-Expires"])
        except ValueError:
            expires = -1
        if not 0 < expires <= MAX_EXPIRES_SECONDS:
            raise SignatureRefused(
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be more than 0 and at most 604800 seconds (7 days)",
                400,
            )
        amz_date = params["X-Amz-Date"]
        signed_at = _parse_date(amz_date)
        now = self._now()
        if signed_at - now > MAX_SKEW:
            raise SignatureRefused("AccessDenied", "Request is not valid yet")
        if now > signed_at + timedelta(seconds=expires):
            raise SignatureRefused("AccessDenied", "Request has expired")
        self._check_fresh(amz_date, params["X-Amz-Credential"])
        signed = params["X-Amz-SignedHeaders"].split(";")
        if "host" not in signed:
            raise SignatureRefused("AccessDenied", "host must be a signed header")
        auth = self._signer(S3SigV4QueryAuth, params["X-Amz-Credential"], expires=expires)
        unsigned = replace(
            arrived, query=[(k, v) for k, v in arrived.query if k != "X-Amz-Signature"]
        )
        self._compare(auth, unsigned.to_sign(signed), amz_date, params.get("X-Amz-Signature", ""))
        return SignedRequest(self.credentials.access_key, None)

    def _check_fresh(self, amz_date: str, credential: str) -> None:
        access_key, day, _, service = _split_credential(credential)
        if not hmac.compare_digest(access_key, self.credentials.access_key):
            raise SignatureRefused(
                "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist"
            )
        if service != "s3":
            raise SignatureRefused(
                "AuthorizationHeaderMalformed", "the credential scope names another service", 400
            )
        if day != amz_date[:8]:
            raise SignatureRefused(
                "SignatureDoesNotMatch", "the credential scope names another day than X-Amz-Date"
            )

    def _check_now(self, signed_at: datetime) -> None:
        if abs(self._now() - signed_at) > MAX_SKEW:
            raise SignatureRefused(
                "RequestTimeTooSkewed",
                "The difference between the request time and the server's time is too large",
            )

    def _signer(
        self, kind: type[S3SigV4Auth] | type[S3SigV4QueryAuth], credential: str, **extra: int
    ) -> S3SigV4Auth | S3SigV4QueryAuth:
        _, _, region, service = _split_credential(credential)
        return kind(self.credentials, service, region, **extra)

    @staticmethod
    def _compare(
        auth: S3SigV4Auth | S3SigV4QueryAuth, request: AWSRequest, amz_date: str, given: str
    ) -> None:
        request.context["timestamp"] = amz_date
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise SignatureRefused(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided",
            )
