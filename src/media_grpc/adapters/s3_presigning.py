"""Presigned PUT, UploadPart and GET URLs: what clients send their bytes with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from media_grpc.adapters.blob_storage import PresignedRequest
from media_grpc.adapters.s3_client import S3Bucket
from media_grpc.adapters.s3_errors import translated


class S3Presigning(S3Bucket):
    def presign_put(
        self,
        key: str,
        *,
        content_type: str,
        content_length: int,
        sha256_b64: str | None,
        expires_in: int,
    ) -> PresignedRequest:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": content_length,
        }
        headers = {"Content-Type": content_type, "Content-Length": str(content_length)}
        if sha256_b64:
            params["ChecksumSHA256"] = sha256_b64
            headers["x-amz-checksum-sha256"] = sha256_b64
        return self._presign_put(key, "put_object", params, headers, expires_in)

    def presign_upload_part(
        self,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        expires_in: int,
        content_length: int | None = None,
    ) -> PresignedRequest:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
        }
        headers = {}
        if content_length is not None:
            params["ContentLength"] = content_length
            headers["Content-Length"] = str(content_length)
        query = {"partNumber": str(part_number), "uploadId": upload_id}
        return self._presign_put(key, "upload_part", params, headers, expires_in, query)

    def presign_get(self, key: str, *, expires_in: int) -> str:
        presign: Callable[..., str] = self.client.generate_presigned_url
        with translated(f"presign get {key}"):
            return presign(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=expires_in,
                HttpMethod="GET",
            )

    def _presign_put(
        self,
        key: str,
        operation: str,
        params: dict[str, Any],
        headers: dict[str, str],
        expires_in: int,
        query: dict[str, str] | None = None,
    ) -> PresignedRequest:
        """A PUT of ``key`` that sends ``headers``: signed by our presigner where the bucket has
        one, else by boto3 as ``operation`` with ``params``."""
        if self.presigner is not None:
            url = self.presigner.presign(
                "PUT", key, expires_in=expires_in, headers=headers, query=query
            )
        else:
            url = self._presign(operation, params, expires_in)
        return PresignedRequest(url=url, headers=headers)

    def _presign(self, operation: str, params: dict[str, Any], expires_in: int) -> str:
        presign: Callable[..., str] = self.client.generate_presigned_url
        with translated(f"presign {operation}"):
            return presign(operation, Params=params, ExpiresIn=expires_in, HttpMethod="PUT")
