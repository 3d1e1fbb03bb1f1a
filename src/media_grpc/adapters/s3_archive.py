"""Archived objects: which storage class an object is in, and asking for a restore."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from media_grpc.adapters.blob_storage import Availability, BlobNotFound, BlobStorageUnavailable
from media_grpc.adapters.s3_client import S3Bucket
from media_grpc.adapters.s3_errors import NOT_FOUND_CODES, translated

#: Storage classes whose objects must be restored before they can be read.
ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})


class S3Archive(S3Bucket):
    def availability(self, key: str) -> Availability:
        with translated(f"head {key}"):
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        storage_class = str(answer.get("StorageClass") or "STANDARD")
        if storage_class not in ARCHIVE_CLASSES:
            return Availability(storage_class, readable=True)
        restore = str(answer.get("Restore") or "")
        restoring = 'ongoing-request="true"' in restore
        restored = 'ongoing-request="false"' in restore
        return Availability(storage_class, readable=restored, restoring=restoring)

    def request_restore(self, key: str, *, days: int) -> bool:
        try:
            self.client.restore_object(Bucket=self.bucket, Key=key, RestoreRequest={"Days": days})
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code == "RestoreAlreadyInProgress":
                return True
            if code in NOT_FOUND_CODES:
                raise BlobNotFound(f"restore {key}: {code}") from None
            return False  # a store without RestoreObject, or an object it cannot restore
        except BotoCoreError as e:
            raise BlobStorageUnavailable(f"restore {key}: {e}") from None
        return True
