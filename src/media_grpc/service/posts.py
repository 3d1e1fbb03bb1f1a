"""What the post service asks of media: ownership, attachability, attaching and detaching.

Only service principals validate, attach or detach (a user's token never reaches these).
AttachMedia locks the rows of the requested media and of the post's current media in one
statement (ordered by id, so overlapping attaches cannot deadlock), checks every verdict and
writes all positions in one transaction: all or nothing. Of two posts racing for one media,
the second to get the lock sees the first's post id and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from media_grpc.domain.attachment import Verdict, judge, ownership
from media_grpc.domain.audit import Actor, AuditAction
from media_grpc.domain.errors import Conflict, FailedPrecondition, InvalidArgument, check_at_most
from media_grpc.domain.ids import (
    MEDIA_IDS_PER_CALL,
    check_ids,
    check_media_id,
    check_owner_id,
    check_post_id,
)
from media_grpc.domain.model import Media
from media_grpc.domain.principal import Principal
from media_grpc.service import audit_trail
from media_grpc.service.context import ServiceContext
from media_grpc.service.deletion import erase

#: Most media ids one ValidateMedia or AttachMedia call may name.
MAX_MEDIA_PER_CALL = 100


class PostMedia:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def validate_ownership(self, principal: Principal, owner_id: str, media_id: str) -> Verdict:
        """OK, NOT_FOUND or NOT_OWNER. Users may only ask about themselves."""
        if principal.is_service:
            _require(owner_id, "owner_id")
        owner = principal.owner_for(owner_id)
        _require(media_id, "media_id")
        with self.ctx.uow() as uow:
            media = uow.media.get(media_id)
        return ownership(media_id, media, owner)

    def validate_media(
        self, principal: Principal, owner_id: str, media_ids: Sequence[str], post_id: str
    ) -> list[Verdict]:
        """One verdict per id, in the order asked. Media already on ``post_id`` are OK.

        A post of another owner is refused as AttachMedia refuses it, so that a validation
        never promises an attach that would fail.
        """
        principal.require_service("ValidateMedia")
        _require(owner_id, "owner_id")
        _check_ids(media_ids, allow_duplicates=True)
        with self.ctx.uow() as uow:
            if post_id:
                _check_one_owner(post_id, owner_id, uow.media.find_by_post(post_id))
            found = {m.id: m for m in uow.media.get_many(list(set(media_ids)))}
        return [judge(i, found.get(i), owner_id, post_id) for i in media_ids]

    def attach(
        self, principal: Principal, post_id: str, owner_id: str, media_ids: Sequence[str]
    ) -> list[Media]:
        """Make ``media_ids`` the post's media, in this order; all or nothing.

        Attaching the same list again changes nothing. Media of the post left out of the list
        are detached (not deleted): the post was edited.
        """
        principal.require_service("AttachMedia")
        _require(post_id, "post_id")
        _require(owner_id, "owner_id")
        _check_ids(media_ids, allow_duplicates=False)
        wanted = list(media_ids)
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            before = {m.id for m in uow.media.find_by_post(post_id)}
            locked = {
                m.id: m for m in uow.media.get_many(sorted(before | set(wanted)), for_update=True)
            }
            if any(m.id not in locked for m in uow.media.find_by_post(post_id)):
                raise Conflict(f"post {post_id} got other media while attaching; retry the call")
            _check_one_owner(post_id, owner_id, [locked[i] for i in sorted(before)])
            verdicts = [judge(i, locked.get(i), owner_id, post_id) for i in wanted]
            refused = [v for v in verdicts if not v.ok]
            if refused:
                raise _refusal(post_id, refused)
            positions = {media_id: n for n, media_id in enumerate(wanted)}
            changed = False
            for media in locked.values():
                if media.id in positions:
                    target: tuple[str | None, int] = (post_id, positions[media.id])
                elif media.post_id == post_id:
                    target = (None, 0)
                else:
                    continue
                if (media.post_id, media.post_position) != target:
                    attaching = target[0] is not None
                    media.post_id, media.post_position = target
                    media.updated_at = now
                    uow.media.save(media)
                    audit_trail.record(
                        uow,
                        media,
                        Actor.of(principal, owner_id),
                        AuditAction.ATTACHED if attaching else AuditAction.DETACHED,
                        detail=f"post {post_id}, position {target[1]}"
                        if attaching
                        else f"post {post_id} (edited)",
                    )
                    changed = True
            if changed:
                uow.commit()
        return [locked[i] for i in wanted]

    def detach(self, principal: Principal, post_id: str) -> list[str]:
        """DetachMedia: the post was deleted; its media are detached and deleted now."""
        principal.require_service("DetachMedia")
        _require(post_id, "post_id")
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            attached = uow.media.find_by_post(post_id, for_update=True)
            for media in attached:
                erase(uow, self.ctx.storage, media, now)
                uow.media.save(media)
                audit_trail.record(
                    uow,
                    media,
                    Actor.of(principal, media.owner_id),
                    AuditAction.DETACHED,
                    detail=f"post {post_id} (deleted: the media is deleted)",
                )
            uow.commit()
        return [m.id for m in attached]


def _check_one_owner(post_id: str, owner_id: str, attached: list[Media]) -> None:
    """A post belongs to one owner: media of another owner on it are never detached by an
    attach for ``owner_id`` (they would be swept as unattached), the call is refused."""
    others = [m for m in attached if m.owner_id != owner_id]
    if not others:
        return
    message = (
        f"post {post_id} holds media of another owner than {owner_id}; a post belongs to one "
        "owner, so media of a different owner cannot be attached to it"
    )
    raise FailedPrecondition(
        message,
        violations=[
            ("OTHER_OWNER", f"post/{post_id}", f"media {m.id} is another owner's") for m in others
        ],
    )


def _refusal(post_id: str, refused: list[Verdict]) -> FailedPrecondition:
    names = ", ".join(v.media_id for v in refused)
    return FailedPrecondition(
        f"cannot attach media {names} to post {post_id}: " + "; ".join(v.message for v in refused),
        violations=[(v.reason.value, f"media/{v.media_id}", v.message) for v in refused],
    )


def _require(value: str, field: str) -> None:
    if not value:
        raise InvalidArgument(f"{field} is required", field=field)
    _ID_CHECKS[field](value)


_ID_CHECKS = {"owner_id": check_owner_id, "post_id": check_post_id, "media_id": check_media_id}


def _check_ids(media_ids: Sequence[str], *, allow_duplicates: bool) -> None:
    if not media_ids:
        raise InvalidArgument("media_ids must name at least one media", field="media_ids")
    check_at_most(len(media_ids), MAX_MEDIA_PER_CALL, field="media_ids", message=MEDIA_IDS_PER_CALL)
    if any(not i for i in media_ids):
        raise InvalidArgument("media_ids must not contain empty ids", field="media_ids")
    check_ids(media_ids, "media_ids")
    if not allow_duplicates and len(set(media_ids)) != len(media_ids):
        duplicates = sorted({i for i in media_ids if list(media_ids).count(i) > 1})
        raise InvalidArgument(
            f"media_ids names {', '.join(duplicates)} more than once",
            field="media_ids",
            value=", ".join(duplicates),
        )
