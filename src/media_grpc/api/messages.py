"""Domain values to and from media.v1 messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import duration_pb2, timestamp_pb2
from media.v1 import media_pb2

from media_grpc.adapters.blob_storage import PresignedRequest, StoredPart
from media_grpc.domain.errors import InvalidArgument
from media_grpc.domain.model import Media, MultipartSession, Purpose, Status, Variant
from media_grpc.service.multipart import PartUrl

PURPOSE_TO_PB = {
    Purpose.POST_IMAGE: media_pb2.PURPOSE_POST_IMAGE,
    Purpose.POST_VIDEO: media_pb2.PURPOSE_POST_VIDEO,
    Purpose.PROFILE_IMAGE: media_pb2.PURPOSE_PROFILE_IMAGE,
}
PURPOSE_FROM_PB = {v: k for k, v in PURPOSE_TO_PB.items()}
STATUS_TO_PB = {s: media_pb2.Status.Value(f"STATUS_{s.value}") for s in Status}
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def purpose_from_pb(value: int, *, required: bool = True) -> Purpose | None:
    if value in PURPOSE_FROM_PB:
        return PURPOSE_FROM_PB[value]  # type: ignore[index]
    if value == media_pb2.PURPOSE_UNSPECIFIED and not required:
        return None
    raise InvalidArgument(
        "purpose must be one of POST_IMAGE, POST_VIDEO, PROFILE_IMAGE",
        field="purpose",
        limit="POST_IMAGE | POST_VIDEO | PROFILE_IMAGE",
        value=str(value),
    )


def status_from_pb(value: int) -> Status | None:
    if value == media_pb2.STATUS_UNSPECIFIED:
        return None
    if value not in STATUS_FROM_PB:
        raise InvalidArgument("status is not a known Status", field="status", value=str(value))
    return STATUS_FROM_PB[value]  # type: ignore[index]


class MediaMessages:
    """Builds Media messages with public URLs under the CDN base URL."""

    def __init__(self, cdn_base_url: str) -> None:
        self.cdn_base_url = cdn_base_url.rstrip("/")

    def url(self, key: str) -> str:
        return f"{self.cdn_base_url}/{key}"

    def media(self, media: Media, *, original_url: str | None = None) -> media_pb2.Media:
        """The message; ``original_url`` is the presigned GET only GetMedia hands out."""
        message = media_pb2.Media(
            id=media.id,
            owner_id=media.owner_id,
            purpose=PURPOSE_TO_PB[media.purpose],
            status=STATUS_TO_PB[media.status],
            storage_key=media.storage_key,
            cdn_url=self.cdn_base_url,
            file_name=media.file_name,
            size_bytes=media.size_bytes,
            mime_type=media.mime_type,
            width=media.width,
            height=media.height,
            variants=[self.variant(v) for v in media.variants],
            metadata=media.metadata,
            post_id=media.post_id or "",
            post_position=media.post_position,
            sha256=media.sha256 or media.verified_sha256 or "",
            created_at=timestamp(media.created_at),
            updated_at=timestamp(media.updated_at),
        )
        if original_url:
            message.original_url = original_url
        if media.status is Status.PENDING:
            message.expires_at.CopyFrom(timestamp(media.expires_at))
        if media.duration_ms:
            message.duration.CopyFrom(
                duration_pb2.Duration(
                    seconds=media.duration_ms // 1000, nanos=(media.duration_ms % 1000) * 1_000_000
                )
            )
        if media.hls_key:
            message.hls_url = self.url(media.hls_key)
        if media.failure:
            message.failure.reason = media_pb2.FailureReason.Value(
                f"FAILURE_REASON_{media.failure.reason.value}"
            )
            message.failure.message = media.failure.message
        return message

    def variant(self, variant: Variant) -> media_pb2.Variant:
        return media_pb2.Variant(
            name=variant.name,
            kind=media_pb2.VariantKind.Value(f"VARIANT_KIND_{variant.kind.value}"),
            url=self.url(variant.storage_key),
            width=variant.width,
            height=variant.height,
            bitrate=variant.bitrate,
            mime_type=variant.mime_type,
            size_bytes=variant.size_bytes,
        )

    @staticmethod
    def single_put(request: PresignedRequest) -> media_pb2.SinglePutUpload:
        return media_pb2.SinglePutUpload(
            url=request.url, method=request.method, headers=request.headers
        )

    @staticmethod
    def part_url(part: PartUrl) -> media_pb2.PartUrl:
        return media_pb2.PartUrl(
            part_number=part.part_number,
            url=part.request.url,
            expires_at=timestamp(part.expires_at),
        )

    def multipart(
        self, session: MultipartSession, urls: list[PartUrl]
    ) -> media_pb2.MultipartUpload:
        return media_pb2.MultipartUpload(
            upload_id=session.upload_id,
            part_size=session.part_size,
            part_count=session.part_count,
            part_urls=[self.part_url(u) for u in urls],
        )

    @staticmethod
    def uploaded_part(part: StoredPart) -> media_pb2.UploadedPart:
        return media_pb2.UploadedPart(
            part_number=part.part_number, etag=part.etag, size_bytes=part.size
        )
