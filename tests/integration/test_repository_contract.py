"""One contract for the media repository: the in-memory one the unit tests use (tests/fakes.py)
and the SQLAlchemy one on PostgreSQL and SQLite must answer alike, so that a unit test on the
fake proves what it says about the real thing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from media_grpc.adapters.database import build_engine, build_session_factory
from media_grpc.adapters.media_sweeps import SweepSet
from media_grpc.adapters.migrations import upgrade_to_head
from media_grpc.adapters.repository import MediaFilter
from media_grpc.adapters.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from media_grpc.domain.model import Media, Purpose, Status
from tests.fakes import FakeDatabase
from tests.media_records import make_media

T = datetime(2030, 1, 1, tzinfo=UTC)
OWNER = "contract-owner"

Uow = Callable[[], AbstractUnitOfWork]


@pytest.fixture(params=["memory", "postgresql", "sqlite"])
def uow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Uow]:
    if request.param == "memory":
        yield FakeDatabase().uow
        return
    if request.param == "postgresql":
        url = str(request.getfixturevalue("own_database_url"))
    else:
        url = f"sqlite:///{tmp_path / 'contract.db'}"
    engine = build_engine(url)
    upgrade_to_head(engine)
    sessions = build_session_factory(engine)
    yield lambda: SqlAlchemyUnitOfWork(sessions)
    engine.dispose()


def media(
    status: Status,
    *,
    at: datetime = T,
    owner: str = OWNER,
    purpose: Purpose = Purpose.POST_IMAGE,
    **fields: object,
) -> Media:
    made = make_media(owner, status=status, purpose=purpose)
    return replace(
        made, created_at=at, updated_at=at, expires_at=at + timedelta(minutes=15), **fields
    )  # type: ignore[arg-type]


def stored(uow: Uow, *items: Media) -> list[str]:
    with uow() as u:
        for m in items:
            u.media.add(m)
        u.commit()
    return [m.id for m in items]


def ids(found: list[Media]) -> list[str]:
    return [m.id for m in found]


def test_a_media_reads_back_as_it_was_added_and_saved(uow: Uow) -> None:
    [media_id] = stored(uow, media(Status.READY, idempotency_key="k-1"))
    with uow() as u:
        got = u.media.get(media_id)
        assert got is not None
        assert (got.status, got.owner_id) == (Status.READY, OWNER)
        assert sorted(v.name for v in got.variants) == ["medium", "thumb"]
        got.post_id = "post-1"
        got.variants = got.variants[:1]
        u.media.save(got)
        u.commit()
    with uow() as u:
        again = u.media.get(media_id)
        by_key = u.media.find_by_idempotency_key(OWNER, "k-1")
        assert u.media.get("no-such-id") is None
        assert ids(u.media.get_many([media_id, "no-such-id", media_id])) == [media_id]
    assert again is not None and by_key is not None
    assert (again.post_id, len(again.variants), by_key.id) == ("post-1", 1, media_id)


def test_uncommitted_changes_are_not_seen_by_the_next_unit_of_work(uow: Uow) -> None:
    with uow() as u:
        u.media.add(media(Status.READY))
    with uow() as u:
        assert u.media.find(MediaFilter(owner_id=OWNER)) == []


def test_find_lists_newest_first_pages_by_cursor_and_hides_deleted(uow: Uow) -> None:
    made = [media(Status.READY, at=T + timedelta(minutes=n)) for n in range(5)]
    made.append(media(Status.DELETED, at=T + timedelta(minutes=9)))
    made.append(media(Status.READY, at=T, owner="someone-else"))
    stored(uow, *made)
    with uow() as u:
        first = u.media.find(MediaFilter(owner_id=OWNER, limit=2))
        last = first[-1]
        rest = u.media.find(MediaFilter(owner_id=OWNER, after=(last.created_at, last.id)))
        deleted = u.media.find(MediaFilter(owner_id=OWNER, status=Status.DELETED))
    assert ids(first) == [made[4].id, made[3].id]
    assert ids(rest) == [made[2].id, made[1].id, made[0].id]
    assert ids(deleted) == [made[5].id]


def test_open_session_expiries_are_the_owners_pending_ones_still_open_soonest_first(
    uow: Uow,
) -> None:
    stored(
        uow,
        media(Status.PENDING, at=T + timedelta(minutes=2)),
        media(Status.PENDING, at=T),
        media(Status.PENDING, at=T - timedelta(hours=1)),  # expired
        media(Status.READY, at=T),
        media(Status.PENDING, at=T, owner="someone-else"),
    )
    with uow() as u:
        found = u.media.open_session_expiries(OWNER, T, limit=5)
    assert [e.astimezone(UTC) for e in found] == [
        T + timedelta(minutes=15),
        T + timedelta(minutes=17),
    ]


def test_each_sweep_finds_exactly_its_media_oldest_first_within_the_limit(uow: Uow) -> None:
    old, older = T - timedelta(days=2), T - timedelta(days=3)
    expired = [media(Status.PENDING, at=older), media(Status.PENDING, at=old)]
    unattached = media(Status.READY, at=old)
    attached = media(Status.READY, at=old, post_id="post-9")
    profile = media(Status.READY, at=old, purpose=Purpose.PROFILE_IMAGE)
    deleted = media(Status.DELETED, at=old, deleted_at=old)
    failed_late = replace(media(Status.FAILED, at=older), updated_at=older)
    stuck = media(Status.PROCESSING, at=old)
    fresh = [media(s, at=T) for s in (Status.PENDING, Status.READY, Status.UPLOADED)]
    stored(uow, *expired, unattached, attached, profile, deleted, failed_late, stuck, *fresh)
    cutoff = T - timedelta(days=1)
    with uow() as u:
        find = u.media.find_for_sweep
        assert ids(find(SweepSet.EXPIRED_PENDING, T, cutoff, 10)) == [m.id for m in expired]
        assert ids(find(SweepSet.EXPIRED_PENDING, T, cutoff, 1)) == [expired[0].id]
        assert ids(find(SweepSet.UNATTACHED_READY, T, cutoff, 10)) == [unattached.id]
        assert ids(find(SweepSet.DELETED, T, cutoff, 10)) == [deleted.id]
        assert ids(find(SweepSet.FAILED_SESSIONS, T, cutoff, 10)) == [failed_late.id]
        assert ids(find(SweepSet.FAILED_UPLOADS, T, cutoff, 10)) == [failed_late.id]
        assert ids(find(SweepSet.STUCK, T, cutoff, 10)) == [stuck.id]


def test_find_by_post_is_in_display_order_without_deleted_media(uow: Uow) -> None:
    second = media(Status.READY, post_id="post-1", post_position=2)
    first = media(Status.READY, post_id="post-1", post_position=1)
    gone = media(Status.DELETED, post_id="post-1", post_position=0)
    stored(uow, second, first, gone, media(Status.READY, post_id="post-2"))
    with uow() as u:
        assert ids(u.media.find_by_post("post-1")) == [first.id, second.id]


def test_purge_removes_the_record_and_an_absent_one_is_not_an_error(uow: Uow) -> None:
    [media_id] = stored(uow, media(Status.DELETED))
    with uow() as u:
        u.media.purge(media_id)
        u.media.purge("no-such-id")
        u.commit()
    with uow() as u:
        assert u.media.get(media_id) is None


def test_a_transition_writes_what_changed_and_keeps_a_concurrent_change_to_other_columns(
    uow: Uow,
) -> None:
    [media_id] = stored(uow, media(Status.PENDING, variants=[]))
    with uow() as u:
        before = u.media.get(media_id)
    assert before is not None
    with uow() as u:  # another call changes another column meanwhile
        other = u.media.get(media_id, for_update=True)
        assert other is not None
        other.post_id = "post-1"
        u.media.save(other)
        u.commit()
    after = replace(before, status=Status.UPLOADED, etag='"e-1"', updated_at=T + timedelta(1))
    with uow() as u:
        assert u.media.transition(before, after)
        u.commit()
    with uow() as u:
        got = u.media.get(media_id)
    assert got is not None
    assert (got.status, got.etag, got.updated_at, got.post_id) == (
        Status.UPLOADED,
        '"e-1"',
        T + timedelta(1),
        "post-1",
    )


def test_a_transition_from_a_status_changed_since_it_was_read_writes_nothing(uow: Uow) -> None:
    [media_id] = stored(uow, media(Status.PENDING, variants=[]))
    with uow() as u:
        before = u.media.get(media_id)
        assert before is not None
        failed = replace(before, status=Status.FAILED)
        assert u.media.transition(before, failed)
        u.commit()
    with uow() as u:
        assert not u.media.transition(before, replace(before, status=Status.UPLOADED, etag="x"))
        u.commit()
    with uow() as u:
        got = u.media.get(media_id)
    assert got is not None and (got.status, got.etag) == (Status.FAILED, None)


def test_a_session_is_added_only_below_the_owners_cap_of_pending_sessions_still_open(
    uow: Uow,
) -> None:
    stored(
        uow,
        media(Status.PENDING, at=T, variants=[]),
        media(Status.PENDING, at=T - timedelta(hours=1), variants=[]),  # expired
        media(Status.READY, at=T),
        media(Status.PENDING, at=T, owner="someone-else", variants=[]),
    )
    second, third = media(Status.PENDING, variants=[]), media(Status.PENDING, variants=[])
    with uow() as u:
        assert u.media.add_below_pending_cap(second, 2, T)
        assert not u.media.add_below_pending_cap(third, 2, T)
        u.commit()
    with uow() as u:
        assert u.media.get(second.id) is not None
        assert u.media.get(third.id) is None
        assert len(u.media.open_session_expiries(OWNER, T, limit=5)) == 2


def test_the_dedupe_match_finds_only_the_owners_ready_media_of_the_purpose_and_hash(
    uow: Uow,
) -> None:
    sha, other = "a" * 64, "b" * 64
    ready = media(Status.READY, verified_sha256=sha)
    stored(
        uow,
        ready,
        media(Status.READY, owner="someone-else", verified_sha256=sha),
        media(Status.READY, purpose=Purpose.PROFILE_IMAGE, verified_sha256=sha),
        media(Status.DELETED, verified_sha256=sha),
        media(Status.READY, sha256=other),  # declared, never verified
    )
    with uow() as u:
        found = u.media.find_ready_copy(OWNER, Purpose.POST_IMAGE, sha)
        assert found is not None and found.id == ready.id
        assert sorted(v.name for v in found.variants) == sorted(v.name for v in ready.variants)
        assert u.media.find_ready_copy(OWNER, Purpose.POST_IMAGE, other) is None


def test_objects_are_in_use_while_another_live_media_names_them_as_its_own_or_shared(
    uow: Uow,
) -> None:
    source = media(Status.DELETED)
    copy = media(Status.READY, source_key=source.storage_key)
    stored(uow, source, copy)
    with uow() as u:
        assert u.media.objects_in_use(source.storage_key, source.id)
        assert not u.media.objects_in_use(source.storage_key, copy.id)
        assert not u.media.objects_in_use(copy.storage_key, copy.id)


def test_the_unhashed_media_are_the_ready_ones_without_a_verified_hash_or_a_source_in_id_order(
    uow: Uow,
) -> None:
    unhashed = [media(Status.READY, etag=f'"e-{n}"') for n in range(3)]
    unhashed.append(media(Status.READY, owner="someone-else", etag='"e-9"'))
    stored(
        uow,
        *unhashed,
        media(Status.READY, verified_sha256="a" * 64),
        media(Status.READY, source_key="uploads/posts/x/shared.jpg"),  # a dedupe hit's copy
        media(Status.DELETED),
        media(Status.PROCESSING),
    )
    in_order = sorted(m.id for m in unhashed)
    mine = sorted(m.id for m in unhashed[:3])
    with uow() as u:
        first = u.media.find_unhashed(None, 2)
        rest = u.media.find_unhashed(first[-1].id, 10)
        assert ids(first) + ids(rest) == in_order
        assert ids(u.media.find_unhashed(None, 10, OWNER)) == mine
        assert ids(u.media.find_unhashed(mine[0], 10, OWNER)) == mine[1:]
        assert (u.media.count_unhashed(), u.media.count_unhashed(OWNER)) == (4, 3)
        assert u.media.count_unhashed("nobody") == 0


def test_a_verified_hash_is_recorded_only_on_a_media_still_ready_unhashed_and_of_that_etag(
    uow: Uow,
) -> None:
    sha = "c" * 64
    ready, deleted, hashed = (
        media(Status.READY, etag='"e-1"'),
        media(Status.READY, etag='"e-2"'),
        media(Status.READY, etag='"e-3"'),
    )
    stored(uow, ready, deleted, hashed)
    with uow() as u:  # a deletion and a job commit first
        for media_id, change in ((deleted.id, "status"), (hashed.id, "verified_sha256")):
            got = u.media.get(media_id, for_update=True)
            assert got is not None
            if change == "status":
                got.status = Status.DELETED
            else:
                got.verified_sha256 = "d" * 64
            u.media.save(got)
        u.commit()
    with uow() as u:
        assert not u.media.record_verified_sha256(ready.id, '"other-etag"', sha)
        assert not u.media.record_verified_sha256(deleted.id, '"e-2"', sha)
        assert not u.media.record_verified_sha256(hashed.id, '"e-3"', sha)
        assert not u.media.record_verified_sha256("no-such-id", '"e-1"', sha)
        assert u.media.record_verified_sha256(ready.id, '"e-1"', sha)
        u.commit()
    with uow() as u:
        found = {m.id: m for m in u.media.get_many([ready.id, deleted.id, hashed.id])}
        assert u.media.find_unhashed(None, 10) == []
    assert [found[m.id].verified_sha256 for m in (ready, deleted, hashed)] == [sha, None, "d" * 64]
    assert found[ready.id].updated_at.astimezone(UTC) == T
    assert found[deleted.id].status is Status.DELETED
