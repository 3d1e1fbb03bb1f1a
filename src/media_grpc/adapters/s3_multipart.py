"""Multipart uploads: create, list the stored parts, complete, abort.

Where stores differ from AWS S3, handled here (each has a test in
tests/integration/test_s3_deviations.py):
- Ceph's RADOS Gateway answers CompleteMultipartUpload with an empty ``<ETag></ETag>``: the
  assembled object's ETag is then read with a HEAD.
- It answers ListParts of an aborted upload with NoSuchKey, not NoSuchUpload:
  both mean the upload is gone (``s3_errors.UPLOAD_GONE_CODES``): BlobNotFound.
"""

from __future__ import annotations

from media_grpc.adapters.blob_storage import BlobNotFound, StoredPart
from media_grpc.adapters.s3_client import S3Bucket
from media_grpc.adapters.s3_errors import translated


class S3Multipart(S3Bucket):
    def create_multipart_upload(self, key: str, *, content_type: str) -> str:
        with translated(f"create multipart upload {key}"):
            answer = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
        return str(answer["UploadId"])

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        parts: list[StoredPart] = []
        marker = 0
        with translated(f"list parts of {key}"):
            while True:
                answer = self.client.list_parts(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
                parts.extend(
                    StoredPart(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
                    for p in answer.get("Parts", [])
                )
                if not answer.get("IsTruncated"):
                    return parts
                marker = int(answer["NextPartNumberMarker"])

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> str:
        """The assembled object's ETag: the answer's, or a HEAD's where the answer has none."""
        with translated(f"complete multipart upload {key}"):
            answer = self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts)]
                },
            )
            etag = str(answer.get("ETag") or "").strip()
            if etag in ("", '""'):  # Ceph RGW: <ETag></ETag>
                etag = str(self.client.head_object(Bucket=self.bucket, Key=key)["ETag"])
        return etag

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        try:
            with translated(f"abort multipart upload {key}"):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except BlobNotFound:
            return
