"""Per-purpose checks of a new upload: declared type and size."""

from __future__ import annotations

from media_grpc.config.uploads import PurposePolicy, UploadSettings
from media_grpc.domain.errors import InvalidArgument
from media_grpc.domain.model import Purpose
from media_grpc.domain.sizes import human_size


def policy_for(settings: UploadSettings, purpose: Purpose) -> PurposePolicy:
    return {
        Purpose.POST_IMAGE: settings.post_image,
        Purpose.POST_VIDEO: settings.post_video,
        Purpose.PROFILE_IMAGE: settings.profile_image,
    }[purpose]


def check_declared(
    settings: UploadSettings, purpose: Purpose, content_type: str, size_bytes: int
) -> None:
    """Raise InvalidArgument (with field, limit and value) when the declaration is refused."""
    policy = policy_for(settings, purpose)
    if content_type not in policy.allowed_types:
        raise InvalidArgument(
            f"content_type {content_type!r} is not allowed for {purpose.value}; "
            f"allowed: {', '.join(policy.allowed_types)}",
            field="content_type",
            limit=", ".join(policy.allowed_types),
            value=content_type,
        )
    if size_bytes <= 0:
        raise InvalidArgument(
            "size_bytes must be the exact size of the file, above 0",
            field="size_bytes",
            limit="> 0",
            value=str(size_bytes),
        )
    if size_bytes > policy.max_bytes:
        raise InvalidArgument(
            f"size_bytes {human_size(size_bytes)} is over the {human_size(policy.max_bytes)} "
            f"limit for {purpose.value}",
            field="size_bytes",
            limit=str(policy.max_bytes),
            value=str(size_bytes),
        )
