"""Deleting every object a media has in storage: original, variants, HLS and anything else
under its output prefix. Objects already gone are not an error."""

from __future__ import annotations

from media_grpc.adapters.blob_storage import BlobStorage
from media_grpc.domain import keys
from media_grpc.domain.model import Media


def object_keys(media: Media) -> list[str]:
    """The keys the record names: the original, each variant and the HLS master playlist."""
    named = [media.storage_key, *(v.storage_key for v in media.variants)]
    if media.hls_key:
        named.append(media.hls_key)
    prefix = output_prefix(media)
    # Derived keys are full bucket keys in the record; a key relative to the output prefix
    # (the stage shape) is deleted in both spellings, since deleting a missing key is harmless.
    relative = [prefix + k for k in named[1:] if not k.startswith(prefix)]
    return list(dict.fromkeys([*named, *relative]))


def output_prefix(media: Media) -> str:
    return keys.output_prefix(media.storage_key, video=media.purpose.is_video)


def delete_media_objects(storage: BlobStorage, media: Media) -> int:
    """Delete the original, every named derived key and everything under the output prefix.

    Returns how many keys were asked to go (the original counts even when it was never
    uploaded). Raises BlobStorageUnavailable when storage does not answer.
    """
    named = object_keys(media)
    storage.delete(named)
    return len(named) + storage.delete_prefix(output_prefix(media))
