"""Every RPC but health and reflection needs `authorization: Bearer <JWT>`."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from media_grpc.adapters.jwt_tokens import TokenVerifier
from media_grpc.api.errors import to_status
from media_grpc.api.wrapping import Abort, AroundInterceptor
from media_grpc.domain.errors import Unauthenticated
from media_grpc.domain.principal import Principal
from media_grpc.observability.logs import bind

#: Services anyone may call without a token.
PUBLIC_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("principal")


def current_principal() -> Principal:
    """The authenticated caller of the RPC being handled."""
    return _current.get()


class AuthInterceptor(AroundInterceptor):
    skip = PUBLIC_SERVICES

    def __init__(self, verifier: TokenVerifier) -> None:
        super().__init__()
        self.verifier = verifier

    @contextmanager
    def around(self, method: str, request: Any, context: Any) -> Iterator[None]:
        try:
            principal = self._authenticate(context)
        except Unauthenticated as e:
            raise Abort.from_status(to_status(e)) from None  # the mapping of api/errors.py
        token = _current.set(principal)
        bind(subject=principal.subject)
        try:
            yield
        finally:
            _current.reset(token)

    def _authenticate(self, context: Any) -> Principal:
        values = [v for k, v in context.invocation_metadata() if k == "authorization"]
        if not values:
            raise Unauthenticated("missing `authorization: Bearer <token>` metadata")
        scheme, _, token = str(values[0]).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the authorization metadata must be `Bearer <token>`")
        return self.verifier.principal(token.strip())
