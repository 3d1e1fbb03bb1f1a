"""An importable client of media-grpc: ``MediaClient(address, token).upload(path, purpose)``."""

from media_grpc.client.media_client import ClientError, MediaClient, parse_purpose, parse_status
from media_grpc.client.progress import Progress
from media_grpc.client.upload import Uploader

__all__ = ["ClientError", "MediaClient", "Progress", "Uploader", "parse_purpose", "parse_status"]
