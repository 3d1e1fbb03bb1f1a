"""Settings of the bucket's own setup and of its conformance check (MEDIA_STORAGE__*)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StorageSettings(BaseModel):
    """What ``media-grpc storage init`` configures and how ``storage check`` judges the result."""

    #: Browser origins allowed to PUT to presigned URLs (CORS). JSON list in the environment.
    cors_allowed_origins: list[str] = ["http://localhost:3000"]
    #: How long a CORS preflight answer may be cached by browsers, in seconds.
    cors_max_age_seconds: int = Field(default=3600, ge=0)
    #: Days after which storage aborts an incomplete multipart upload (lifecycle rule).
    abort_incomplete_multipart_days: int = Field(default=1, ge=1)
    #: Mark the endpoint as a development endpoint: missing protections are reported but do not
    #: fail ``storage check``. The embedded local S3 always counts as one.
    development_endpoint: bool = False
    #: Run the storage check in the background when ``serve`` starts against a configured
    #: (non-embedded) endpoint and log missing protections as a warning.
    check_on_startup: bool = True
