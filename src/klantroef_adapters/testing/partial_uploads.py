"""The PartialUploads contract."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_core.errors import BlobMissing, Unavailable, UploadBusy
from klantroef_core.ports import PartialUploads

DATA = bytes(range(256)) * 40  # 10,240 bytes


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def failing_after(parts: Iterable[bytes], error: BaseException) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    raise error


async def read_all(adapter: PartialUploads, upload_id: str, length: int) -> bytes:
    return b"".join([chunk async for chunk in adapter.read(upload_id, length)])


def new_id() -> str:
    return str(uuid.uuid4())


class PartialUploadsContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.PartialUploads`, one test (or more) each.

    Subclass it as ``Test<YourStore>`` and provide the async fixture ``adapter``
    (a fresh, empty store) and, optionally, ``unreachable_adapter``.
    """

    async def test_appends_add_up_and_read_back(self, adapter: PartialUploads) -> None:
        upload = new_id()
        await adapter.create(upload)

        first = await adapter.append(upload, 0, chunks_of(DATA[:1000], DATA[1000:4000]))
        second = await adapter.append(upload, first, chunks_of(DATA[4000:]))

        assert (first, second) == (4000, len(DATA))
        assert await read_all(adapter, upload, len(DATA)) == DATA
        assert await read_all(adapter, upload, 10) == DATA[:10]

    async def test_reads_come_in_chunks(self, adapter: PartialUploads) -> None:
        upload = new_id()
        await adapter.create(upload)
        big = DATA * 300  # 3 MiB
        await adapter.append(upload, 0, chunks_of(big))

        chunks = [chunk async for chunk in adapter.read(upload, len(big))]

        assert len(chunks) > 1
        assert b"".join(chunks) == big

    async def test_an_append_first_cuts_back_to_its_offset(self, adapter: PartialUploads) -> None:
        upload = new_id()
        await adapter.create(upload)
        await adapter.append(upload, 0, chunks_of(b"x" * 500))

        reached = await adapter.append(upload, 200, chunks_of(DATA[200:300]))

        assert reached == 300
        assert await read_all(adapter, upload, 300) == b"x" * 200 + DATA[200:300]
        with pytest.raises(BlobMissing):
            await read_all(adapter, upload, 301)

    async def test_an_append_that_breaks_off_leaves_the_upload_as_it_was(
        self, adapter: PartialUploads
    ) -> None:
        upload = new_id()
        await adapter.create(upload)
        await adapter.append(upload, 0, chunks_of(DATA[:100]))

        with pytest.raises(ConnectionResetError):
            await adapter.append(
                upload, 100, failing_after([DATA[100:2000]] * 3, ConnectionResetError())
            )

        assert await adapter.append(upload, 100, chunks_of(DATA[100:])) == len(DATA)
        assert await read_all(adapter, upload, len(DATA)) == DATA

    async def test_a_second_writer_at_the_same_time_is_refused(
        self, adapter: PartialUploads
    ) -> None:
        upload = new_id()
        await adapter.create(upload)
        gate = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield DATA[:100]
            await gate.wait()
            yield DATA[100:200]

        first = asyncio.create_task(adapter.append(upload, 0, slow()))
        for _ in range(100):
            await asyncio.sleep(0.01)
            try:
                await adapter.append(upload, 0, chunks_of(b"intruder"))
            except UploadBusy:
                break
        else:
            pytest.fail("a second append ran while the first held the upload")
        gate.set()

        assert await first == 200
        assert await read_all(adapter, upload, 200) == DATA[:200]

    async def test_a_missing_or_short_upload_is_blob_missing(self, adapter: PartialUploads) -> None:
        with pytest.raises(BlobMissing):
            await adapter.append(new_id(), 0, chunks_of(b"x"))
        with pytest.raises(BlobMissing):
            await read_all(adapter, new_id(), 1)
        upload = new_id()
        await adapter.create(upload)
        with pytest.raises(BlobMissing):
            await adapter.append(upload, 5, chunks_of(b"x"))

    async def test_discard_removes_and_is_idempotent(self, adapter: PartialUploads) -> None:
        upload = new_id()
        await adapter.create(upload)
        await adapter.append(upload, 0, chunks_of(DATA))

        await adapter.discard(upload)
        await adapter.discard(upload)

        with pytest.raises(BlobMissing):
            await read_all(adapter, upload, 1)

    @pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "k" * 129])
    async def test_an_unsafe_id_is_refused(self, adapter: PartialUploads, bad: str) -> None:
        with pytest.raises(ValueError, match="key"):
            await adapter.create(bad)
        with pytest.raises(ValueError, match="key"):
            await adapter.append(bad, 0, chunks_of(b"x"))
        with pytest.raises(ValueError, match="key"):
            await adapter.discard(bad)

    async def test_an_unusable_store_raises_unavailable(
        self, unreachable_adapter: PartialUploads
    ) -> None:
        with pytest.raises(Unavailable):
            await unreachable_adapter.create(new_id())
