"""A file's sha256 as a client declares it: when CreateUploadSession opens the session, or when
CompleteUpload ends it (a client that hashes while it sends). The processing job checks it."""

from __future__ import annotations

import re

from media_grpc.domain.errors import FailedPrecondition, InvalidArgument

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def declared_sha256(value: str | None) -> str | None:
    """The declared hex digest, lower case; None when none was declared."""
    if value is None or value == "":
        return None
    normalized = value.strip().lower()
    if not _SHA256_HEX.match(normalized):
        raise InvalidArgument(
            "sha256 must be 64 hexadecimal characters (the hex digest of the file)",
            field="sha256",
            limit="64 hex characters",
            value=value[:80],
        )
    return normalized


def check_same_sha256(
    media_id: str, recorded: str | None, given: str | None, *, completed: bool
) -> None:
    """A sha256 given at completion must agree with what the media holds: the one declared to
    CreateUploadSession, or, for a completion repeated, the one the first completion gave."""
    if given is None or given == recorded:
        return
    if recorded is None and not completed:
        return
    if recorded is None:
        raise FailedPrecondition(
            f"media {media_id} was completed without a sha256; a repeated CompleteUpload must "
            "repeat the first call's request"
        )
    raise FailedPrecondition(
        f"sha256 {given} differs from {recorded}, the sha256 media {media_id} already holds "
        "(declared to CreateUploadSession or given to an earlier CompleteUpload)"
    )
