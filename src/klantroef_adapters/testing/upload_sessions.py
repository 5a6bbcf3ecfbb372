"""The UploadSessions contract."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_core.domain.media import MediaType
from klantroef_core.domain.upload_session import UploadSession
from klantroef_core.errors import AlreadyExists, Unavailable
from klantroef_core.ports import UploadSessions

T0 = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


def a_session(*, expires_in: timedelta = timedelta(hours=24), **changes: object) -> UploadSession:
    """A fresh session of 1,000 bytes with every metadata field set."""
    values: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "owner": str(uuid.uuid4()),
        "length": 1000,
        "offset": 0,
        "filename": "clip.mp4",
        "title": "A clip",
        "type": MediaType.VIDEO,
        "created_at": T0,
        "expires_at": T0 + expires_in,
    }
    values.update(changes)
    return UploadSession(**values)  # type: ignore[arg-type]


class UploadSessionsContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.UploadSessions`, one test (or more) each.

    Subclass it as ``Test<YourStore>`` and provide the async fixture ``adapter``
    (a fresh, empty store) and, optionally, ``unreachable_adapter``.
    """

    async def test_a_session_reads_back_equal(self, adapter: UploadSessions) -> None:
        session = a_session()
        bare = a_session(filename=None, title=None, type=None, length=0)
        await adapter.add(session)
        await adapter.add(bare)

        assert await adapter.get(session.id) == session
        assert await adapter.get(bare.id) == bare

    async def test_an_unknown_id_is_none(self, adapter: UploadSessions) -> None:
        assert await adapter.get(str(uuid.uuid4())) is None
        assert await adapter.get("x" * 300) is None
        assert await adapter.get(a_session().id.upper()) is None

    async def test_a_taken_id_is_refused(self, adapter: UploadSessions) -> None:
        session = a_session()
        await adapter.add(session)
        with pytest.raises(AlreadyExists):
            await adapter.add(a_session(id=session.id))

    async def test_advance_moves_only_from_the_expected_offset(
        self, adapter: UploadSessions
    ) -> None:
        session = a_session()
        await adapter.add(session)

        assert await adapter.advance(session.id, 0, 400)
        assert not await adapter.advance(session.id, 0, 300)
        assert await adapter.advance(session.id, 400, 1000)
        stored = await adapter.get(session.id)
        assert stored is not None
        assert stored.offset == 1000
        assert not await adapter.advance(str(uuid.uuid4()), 0, 1)

    async def test_of_two_racing_advances_exactly_one_wins(self, adapter: UploadSessions) -> None:
        session = a_session()
        await adapter.add(session)

        won = await asyncio.gather(
            adapter.advance(session.id, 0, 100), adapter.advance(session.id, 0, 200)
        )

        assert sorted(won) == [False, True]
        stored = await adapter.get(session.id)
        assert stored is not None
        assert stored.offset == (100 if won[0] else 200)

    async def test_complete_records_the_media_and_stops_advances(
        self, adapter: UploadSessions
    ) -> None:
        session = a_session()
        await adapter.add(session)
        media_id = str(uuid.uuid4())

        await adapter.complete(session.id, media_id)

        stored = await adapter.get(session.id)
        assert stored is not None
        assert (stored.media_id, stored.offset, stored.complete) == (media_id, 1000, True)
        assert not await adapter.advance(session.id, 1000, 1000)

    async def test_delete_says_whether_it_was_there(self, adapter: UploadSessions) -> None:
        session = a_session()
        await adapter.add(session)

        assert await adapter.delete(session.id)
        assert not await adapter.delete(session.id)
        assert await adapter.get(session.id) is None

    async def test_expired_lists_the_due_ones_oldest_first_up_to_the_limit(
        self, adapter: UploadSessions
    ) -> None:
        old = a_session(expires_in=timedelta(hours=1))
        older = a_session(expires_in=timedelta(minutes=1))
        due_now = a_session(expires_in=timedelta(hours=2))
        live = a_session(expires_in=timedelta(hours=2, microseconds=1))
        for session in (old, live, older, due_now):
            await adapter.add(session)
        now = T0 + timedelta(hours=2)

        assert [s.id for s in await adapter.expired(now, 10)] == [older.id, old.id, due_now.id]
        assert [s.id for s in await adapter.expired(now, 2)] == [older.id, old.id]
        assert await adapter.expired(now, 0) == []

    async def test_an_unreachable_store_raises_unavailable(
        self, unreachable_adapter: UploadSessions
    ) -> None:
        session = a_session()
        with pytest.raises(Unavailable):
            await unreachable_adapter.add(session)
        with pytest.raises(Unavailable):
            await unreachable_adapter.get(session.id)
        with pytest.raises(Unavailable):
            await unreachable_adapter.advance(session.id, 0, 1)
        with pytest.raises(Unavailable):
            await unreachable_adapter.delete(session.id)
        with pytest.raises(Unavailable):
            await unreachable_adapter.expired(T0, 10)
