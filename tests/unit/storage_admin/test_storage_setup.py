"""`storage init` against stores that lack per-bucket CORS (MinIO community) or return no rules."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from media_grpc.config.storage import StorageSettings
from media_grpc.storage_admin.setup import ensure_cors, is_abort_rule, set_up_bucket


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class MinioLikeBucket:
    """An existing bucket whose CORS calls answer NotImplemented, like MinIO's community build."""

    def __init__(self) -> None:
        self.lifecycle: list[dict[str, Any]] = []
        self.policy: str | None = None

    def get_bucket_policy(self, **_: Any) -> dict[str, Any]:
        if self.policy is None:
            raise client_error("NoSuchBucketPolicy", "GetBucketPolicy")
        return {"Policy": self.policy}

    def put_bucket_policy(self, **kwargs: Any) -> None:
        self.policy = kwargs["Policy"]

    def head_bucket(self, **_: Any) -> dict[str, Any]:
        return {}

    def get_bucket_cors(self, **_: Any) -> dict[str, Any]:
        raise client_error("NotImplemented", "GetBucketCors")

    def get_bucket_lifecycle_configuration(self, **_: Any) -> dict[str, Any]:
        if not self.lifecycle:
            raise client_error("NoSuchLifecycleConfiguration", "GetBucketLifecycleConfiguration")
        return {"Rules": self.lifecycle}

    def put_bucket_lifecycle_configuration(self, **kwargs: Any) -> None:
        self.lifecycle = kwargs["LifecycleConfiguration"]["Rules"]


class EmptyCorsBucket(MinioLikeBucket):
    """Answers GetBucketCors with an empty configuration instead of NoSuchCORSConfiguration."""

    def __init__(self) -> None:
        super().__init__()
        self.put: list[dict[str, Any]] = []

    def get_bucket_cors(self, **_: Any) -> dict[str, Any]:
        return {}

    def put_bucket_cors(self, **kwargs: Any) -> None:
        self.put.append(kwargs["CORSConfiguration"])


def test_storage_init_says_where_to_configure_cors_when_the_store_has_no_bucket_cors() -> None:
    lines = set_up_bucket(MinioLikeBucket(), "media", "us-east-1", StorageSettings())

    assert lines[0] == "bucket media: exists, unchanged"
    assert "MINIO_API_CORS_ALLOW_ORIGIN" in lines[1]
    assert lines[2] == "lifecycle: abort incomplete multipart uploads after 1 day(s), set"
    assert lines[3] == "bucket policy: anonymous GET of variants/*, transcoded/* only, set"
    assert lines[4] == "lifecycle: archive originals/* to GLACIER after 365 day(s), set"


def test_storage_init_sets_cors_when_the_store_answers_an_empty_configuration() -> None:
    bucket = EmptyCorsBucket()

    line = ensure_cors(bucket, "media", StorageSettings(cors_allowed_origins=["https://a.example"]))

    assert line == "CORS: browser PUT from https://a.example, exposing ETag, set"
    [config] = bucket.put
    assert config["CORSRules"][0]["AllowedOrigins"] == ["https://a.example"]


def test_abort_rule_counts_only_when_enabled_and_bucket_wide() -> None:
    rule = {"Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}

    assert is_abort_rule(rule)
    assert is_abort_rule({**rule, "Filter": {}})
    assert is_abort_rule({**rule, "Filter": {"Prefix": ""}}, days=1)
    assert not is_abort_rule({**rule, "Filter": {"Prefix": ""}}, days=2)
    assert not is_abort_rule({**rule, "Filter": {"Prefix": "uploads/"}})
    assert not is_abort_rule({**rule, "Status": "Disabled"})
    assert not is_abort_rule({"Status": "Enabled", "Expiration": {"Days": 1}})
