"""S3's errors as the embedded S3 answers them: an HTTP status, a code and an XML body."""

from __future__ import annotations

from xml.sax.saxutils import escape


class S3Error(Exception):
    """An S3 error answer (``<Error><Code>...</Code><Message>...</Message></Error>``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def xml(self, resource: str = "") -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
            f"<Resource>{escape(resource)}</Resource><RequestId>embedded</RequestId></Error>"
        ).encode()


def no_such_bucket(name: str) -> S3Error:
    return S3Error(404, "NoSuchBucket", f"The specified bucket does not exist: {name}")


def no_such_key(key: str) -> S3Error:
    return S3Error(404, "NoSuchKey", "The specified key does not exist.")


def no_such_upload() -> S3Error:
    return S3Error(
        404,
        "NoSuchUpload",
        "The specified multipart upload does not exist. The upload ID may be invalid, or the "
        "upload may have been aborted or completed.",
    )


def access_denied() -> S3Error:
    return S3Error(403, "AccessDenied", "Access Denied")
