"""Domain errors to gRPC statuses: the one place this mapping lives."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import grpc.aio
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from media_grpc.api.wrapping import Abort, AroundInterceptor
from media_grpc.domain import errors

log = logging.getLogger(__name__)

STATUS_CODES: dict[type[errors.MediaError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.MediaNotFound: grpc.StatusCode.NOT_FOUND,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.VerificationFailed: grpc.StatusCode.FAILED_PRECONDITION,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Conflict: grpc.StatusCode.ABORTED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def code_for(error: errors.MediaError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]  # type: ignore[index]
    return grpc.StatusCode.UNKNOWN


def to_status(error: errors.MediaError) -> grpc.Status:
    """A rich status: the code, the message, and structured details where a field is at fault."""
    code = code_for(error)
    details: list[any_pb2.Any] = []
    if isinstance(error, errors.InvalidArgument) and error.field:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field,
            description=error.message
            + (f" (limit: {error.limit}; value: {error.value})" if error.limit else ""),
        )
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[violation])))
    if isinstance(error, errors.FailedPrecondition) and error.violations:
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=kind, subject=subject, description=description
                )
                for kind, subject, description in error.violations
            ]
        )
        details.append(_pack(failure))
    if isinstance(error, errors.VerificationFailed):
        details.append(_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain="media.v1")))
    if isinstance(error, errors.ResourceExhausted):
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=code.value[0], message=error.message, details=details)
    return rpc_status.to_status(status)


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


class ErrorInterceptor(AroundInterceptor):
    """Domain errors become their status; anything else is logged and reported with an id."""

    @contextmanager
    def around(self, method: str, request: Any, context: Any) -> Iterator[None]:
        try:
            yield
        except errors.MediaError as e:
            if isinstance(e, errors.Unavailable):
                log.warning("unavailable in %s: %s", method, e)
            raise Abort.from_status(to_status(e)) from None
        except (Abort, grpc.aio.AbortError):
            raise  # already a status of its own
        except Exception:
            if getattr(context, "code", lambda: None)() not in (None, grpc.StatusCode.OK, 0):
                raise  # already aborted with a status of its own
            incident = uuid.uuid4().hex[:12]
            log.exception("unexpected error in %s (incident %s)", method, incident)
            raise Abort(
                grpc.StatusCode.INTERNAL,
                f"internal error in {method.rsplit('/', 1)[-1]}; incident {incident} is logged",
            ) from None
