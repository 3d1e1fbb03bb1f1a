"""The probes of `storage check` about reading: originals private, derivatives public, archiving
(the rule, and the storage class it moves originals to).

Each writes one small object under a top-level prefix of the service (``uploads/``,
``originals/``, ``variants/``) below the check's scratch prefix, then GETs it without
credentials, as anyone on the internet could.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from media_grpc.domain.keys import ORIGINALS_PREFIX, PRIVATE_PREFIXES, PUBLIC_PREFIXES
from media_grpc.storage_admin.bucket_settings import error_code, lifecycle_rules
from media_grpc.storage_admin.policy import describe_archive_rule, is_archive_rule
from media_grpc.storage_admin.probing import Probe, ProbeResult, Scratch, unsigned_url

BODY = b"media-grpc storage check\n"


def _anonymous_get(scratch: Scratch, key: str) -> int:
    """The status of an unsigned GET of ``key`` after writing it with credentials."""
    scratch.client.put_object(Bucket=scratch.bucket, Key=key, Body=BODY, ContentType="text/plain")
    url = scratch.client.generate_presigned_url(
        "get_object", Params={"Bucket": scratch.bucket, "Key": key}, ExpiresIn=60
    )
    return scratch.send("GET", unsigned_url(url)).status_code


def original_private(scratch: Scratch) -> ProbeResult:
    """No original prefix may be anonymously readable."""
    name = "anonymous GET of an original (" + ", ".join(PRIVATE_PREFIXES) + ")"
    answers = {
        top: _anonymous_get(scratch, scratch.key_under(top, "original")) for top in PRIVATE_PREFIXES
    }
    readable = [top for top, status in answers.items() if status < 300]
    detail = ", ".join(f"{top}: {status}" for top, status in answers.items())
    if readable:
        detail += ": anyone can read originals; run `media-grpc storage init`"
    return ProbeResult(Probe.ORIGINAL_PRIVATE, name, not readable, detail, ("refused", "ALLOWED"))


def derivative_public(scratch: Scratch) -> ProbeResult:
    """The URLs of variants, posters and HLS work without credentials."""
    name = "anonymous GET of a derivative (" + ", ".join(PUBLIC_PREFIXES) + ")"
    answers = {
        top: _anonymous_get(scratch, scratch.key_under(top, "variant")) for top in PUBLIC_PREFIXES
    }
    served = all(status < 300 for status in answers.values())
    detail = ", ".join(f"{top}: {status}" for top, status in answers.items())
    if not served:
        detail += ": public variant URLs will not work; run `media-grpc storage init`"
    return ProbeResult(Probe.DERIVATIVE_PUBLIC, name, served, detail, ("served", "REFUSED"))


def _archive_rules(scratch: Scratch, probe: Probe, name: str) -> list[dict[str, Any]] | ProbeResult:
    """The bucket's lifecycle rules that archive originals, or ``probe``'s "cannot tell" result
    when storage does not show them."""
    try:
        return [r for r in lifecycle_rules(scratch.client, scratch.bucket) if is_archive_rule(r)]
    except ClientError as e:
        return ProbeResult(probe, name, None, f"cannot tell ({error_code(e)})")


def archive_rule(scratch: Scratch) -> ProbeResult:
    name = "lifecycle rule archiving originals"
    rules = _archive_rules(scratch, Probe.ARCHIVE_RULE, name)
    if isinstance(rules, ProbeResult):
        return rules
    if not rules:
        detail = "absent: originals stay in the standard class"
        return ProbeResult(Probe.ARCHIVE_RULE, name, False, detail, ("present", "absent"))
    detail = describe_archive_rule(rules[0])
    return ProbeResult(Probe.ARCHIVE_RULE, name, True, detail, ("present", "absent"))


def archive_class(scratch: Scratch) -> ProbeResult:
    """The archive rule's storage class exists: a PUT of a small object in that class is taken.

    A lifecycle rule is not proof: Ceph's RADOS Gateway (and others) accept a transition to a
    class they do not have and then never move anything, while a PUT naming that class is
    refused (InvalidArgument, or InvalidStorageClass on MinIO).
    """
    name = "archive storage class exists"
    rules = _archive_rules(scratch, Probe.ARCHIVE_CLASS, name)
    if isinstance(rules, ProbeResult):
        return rules
    if not rules:
        return ProbeResult(Probe.ARCHIVE_CLASS, name, None, "no archive rule to prove")
    storage_class = str(rules[0]["Transitions"][0].get("StorageClass", ""))
    key = scratch.key_under(ORIGINALS_PREFIX, "archive-class")
    try:
        scratch.client.put_object(
            Bucket=scratch.bucket, Key=key, Body=BODY, StorageClass=storage_class
        )
    except ClientError as e:
        detail = (
            f"{storage_class}: a PUT in it is refused ({error_code(e)}): originals are never "
            "archived; configure that class or MEDIA_STORAGE__ARCHIVE_STORAGE_CLASS"
        )
        return ProbeResult(Probe.ARCHIVE_CLASS, name, False, detail, ("exists", "MISSING"))
    detail = f"{storage_class}: a PUT in it is taken"
    return ProbeResult(Probe.ARCHIVE_CLASS, name, True, detail, ("exists", "MISSING"))


def read_probes(scratch: Scratch) -> list[ProbeResult]:
    return [
        original_private(scratch),
        derivative_public(scratch),
        archive_rule(scratch),
        archive_class(scratch),
    ]
