"""What the service makes of `storage check`: which protections it relies on, which it makes up for.

The service cannot make up for a storage that lets anyone write anywhere: the signature, its expiry
and its binding to one key are relied on, and so is a bucket that refuses anonymous reads of
originals. Type, size and content it checks again itself when an upload completes, so those only
cost a wasted upload when storage lets them through.
"""

from __future__ import annotations

from dataclasses import dataclass

from media_grpc.storage_admin.conformance import Probe, ProbeResult

#: Protections without which presigned uploads are unsafe, and the archive class without which
#: the archive rule silently does nothing: ``storage check`` fails without them.
RELIED_ON = frozenset(
    {
        Probe.VALID_PUT,
        Probe.UNSIGNED,
        Probe.TAMPERED_SIGNATURE,
        Probe.EXPIRED,
        Probe.OTHER_KEY,
        Probe.PART_AFTER_ABORT,
        Probe.ORIGINAL_PRIVATE,
        Probe.ARCHIVE_CLASS,
    }
)

#: What the service does itself when storage does not enforce a protection.
COMPENSATIONS = {
    Probe.CONTENT_TYPE: (
        "type: completion checks the stored Content-Type and the sniffed type before anything "
        "trusts it"
    ),
    Probe.CONTENT_LENGTH: (
        "size: completion compares the stored size with the declared one and deletes a mismatch"
    ),
    Probe.CHECKSUM_SHA256: (
        "sha256: when the client declared one, the processing job hashes the original it reads"
    ),
    Probe.CONTENT_MD5: "Content-MD5: not used; the declared sha256 is checked instead",
    Probe.WRONG_ETAG: (
        "multipart ETags: completion checks each part's ETag and size against storage first"
    ),
    Probe.SMALL_PART: "part size: sessions fix parts at MEDIA_UPLOADS__PART_SIZE_BYTES (>= 5 MiB)",
    Probe.CORS_DISALLOWED: "CORS: no write protection; the signature is",
    Probe.VERSIONING: (
        "overwrites: the ETag is pinned at completion; the job copies that content to a "
        "private key and deletes the upload key"
    ),
}

#: Bucket settings reported for information: their absence alone is no reason for a warning.
INFORMATIONAL = frozenset({Probe.VERSIONING, Probe.ARCHIVE_RULE})

_WIDTH = len("NOT enforced") + 2


@dataclass(frozen=True)
class StorageReport:
    endpoint: str
    bucket: str
    results: list[ProbeResult]
    #: A development endpoint reports missing protections without failing.
    development: bool

    @property
    def not_enforced(self) -> list[ProbeResult]:
        return [r for r in self.results if r.enforced is False]

    @property
    def needs_attention(self) -> bool:
        """Something other than a purely informational setting is not enforced."""
        return any(r.probe not in INFORMATIONAL for r in self.not_enforced)

    @property
    def missing(self) -> list[ProbeResult]:
        """Protections the service relies on that this storage lacks."""
        return [r for r in self.not_enforced if r.probe in RELIED_ON]

    @property
    def compensated(self) -> list[str]:
        return [COMPENSATIONS[r.probe] for r in self.not_enforced if r.probe in COMPENSATIONS]

    @property
    def uploads_fail(self) -> bool:
        """A correctly presigned PUT was refused: a broken setup, development endpoint or not."""
        return any(r.probe is Probe.VALID_PUT for r in self.missing)

    @property
    def exit_code(self) -> int:
        return 1 if self.uploads_fail or (self.missing and not self.development) else 0

    def lines(self) -> list[str]:
        lines = [f"storage check of bucket {self.bucket} at {self.endpoint}"]
        lines += [f"  {r.verdict:<{_WIDTH}}{r.name}: {r.detail}" for r in self.results]
        if self.compensated:
            lines.append("the service compensates for:")
            lines += [f"  - {line}" for line in self.compensated]
        lines.append(self.verdict())
        return lines

    def verdict(self) -> str:
        if self.uploads_fail:
            return "FAIL: a valid presigned PUT fails, so no upload can work"
        if not self.missing:
            return "OK: every protection the service relies on is enforced"
        names = ", ".join(r.name for r in self.missing)
        if self.development:
            return f"development endpoint, not failing; missing protections: {names}"
        return f"FAIL: missing protections the service relies on: {names}"

    def summary(self) -> str:
        """One paragraph for the server log."""
        names = "; ".join(r.name for r in self.not_enforced)
        text = f"storage at {self.endpoint} (bucket {self.bucket}) does not enforce: {names}."
        if self.compensated:
            text += " The service compensates for: " + "; ".join(self.compensated) + "."
        if self.missing:
            text += " Missing protections the service relies on: "
            text += ", ".join(r.name for r in self.missing) + "."
        return text + " Details: `media-grpc storage check`."
