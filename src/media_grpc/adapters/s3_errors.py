"""boto3's errors end at this edge: a 404 becomes BlobNotFound, the rest BlobStorageUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from media_grpc.adapters.blob_storage import BlobNotFound, BlobStorageUnavailable

#: The codes of a multipart upload that is gone (completed, aborted, expired): NoSuchUpload, and
#: NoSuchKey from Ceph's RADOS Gateway, which answers so for an aborted upload.
UPLOAD_GONE_CODES = frozenset({"NoSuchUpload", "NoSuchKey"})
NOT_FOUND_CODES = {"404", "NotFound", "NoSuchBucket", *UPLOAD_GONE_CODES}
PRECONDITION_CODES = {"412", "PreconditionFailed"}


@contextmanager
def translated(what: str) -> Iterator[None]:
    """boto3 errors end here: 404s become BlobNotFound, the rest BlobStorageUnavailable."""
    try:
        yield
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code in NOT_FOUND_CODES or code in PRECONDITION_CODES:
            raise BlobNotFound(f"{what}: {code}") from None
        raise BlobStorageUnavailable(f"{what}: {code or e}") from None
    except BotoCoreError as e:
        raise BlobStorageUnavailable(f"{what}: {e}") from None
