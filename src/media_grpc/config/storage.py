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
    #: Lifetime, in seconds, of the presigned GET of an original that GetMedia gives its owner
    #: and service callers. Originals are private: nobody else gets a URL for them.
    original_url_ttl_seconds: int = Field(default=300, ge=1, le=7 * 24 * 3600)
    #: Days after which ``storage init``'s lifecycle rule moves frozen originals (``originals/``)
    #: to ``archive_storage_class``; 0 writes no such rule. Derivatives stay in the standard class.
    archive_after_days: int = Field(default=365, ge=0)
    #: Storage class archived originals move to (S3: GLACIER, DEEP_ARCHIVE, GLACIER_IR, ...).
    archive_storage_class: str = "GLACIER"
    #: Days a restored copy of an archived original stays readable (RestoreObject).
    restore_days: int = Field(default=7, ge=1)
