"""Who is calling, and what they may touch."""

from __future__ import annotations

from dataclasses import dataclass

from media_grpc.domain.errors import PermissionDenied
from media_grpc.domain.ids import check_owner_id, echo


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user, or a service acting for users."""

    subject: str
    is_service: bool = False

    def owner_for(self, requested_owner_id: str) -> str:
        """The owner a call acts for: the caller, or (services only) the owner named."""
        check_owner_id(requested_owner_id)
        if not requested_owner_id or requested_owner_id == self.subject:
            return self.subject
        if not self.is_service:
            raise PermissionDenied(
                f"user {echo(self.subject)!r} may not act for owner {echo(requested_owner_id)!r}"
            )
        return requested_owner_id

    def may_touch(self, owner_id: str) -> bool:
        return self.is_service or owner_id == self.subject

    def require_service(self, action: str) -> None:
        if not self.is_service:
            raise PermissionDenied(f"{action} is for service principals only")
