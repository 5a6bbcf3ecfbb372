"""The MediaStorage contract."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import pytest

from klantroef_adapters.testing._base import ContractBase
from klantroef_core.errors import AlreadyExists, BlobMissing, Unavailable
from klantroef_core.ports import MediaStorage

DATA = bytes(range(256)) * 40  # 10,240 bytes: several write buffers and read chunks
UNSAFE_KEYS = [
    "",
    "../etc/passwd",
    "a/b",
    ".hidden",
    "..",
    "x\x00y",
    "name with space",
    "é",
    "k" * 129,
]

Leftovers = Callable[[], list[str] | Awaitable[list[str]]]
"""Lists what a store holds besides complete blobs; may be a coroutine function."""


async def left_behind(leftovers: Leftovers) -> list[str]:
    """What ``leftovers`` lists, awaited if it is asynchronous."""
    found = leftovers()
    return await found if inspect.isawaitable(found) else found


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    """An upload arriving in ``parts``, yielding to the loop between them."""
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def failing_after(parts: Iterable[bytes], error: BaseException) -> AsyncIterator[bytes]:
    """An upload that breaks off with ``error`` after ``parts``."""
    for part in parts:
        yield part
    raise error


async def read_all(storage: MediaStorage, key: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in storage.read_range(key, start, end)])


async def is_missing(storage: MediaStorage, key: str) -> bool:
    """Whether reading ``key`` raises BlobMissing (what "no blob" means through the port)."""
    try:
        await read_all(storage, key, 0, 0)
    except BlobMissing:
        return True
    return False


class MediaStorageContract(ContractBase):
    """The promises of :class:`~klantroef_core.ports.MediaStorage`, one test (or more) each.

    Subclass it as ``Test<YourStorage>`` and provide:

    - ``adapter``: an async fixture giving a fresh, empty store that reads at most
      ``read_chunk`` bytes per chunk;
    - ``read_chunk``: that chunk size (default 1000; ask for the fixture in
      ``adapter`` to build the store with it);
    - ``leftovers`` (optional): a callable listing anything the store holds
      besides complete blobs (temporary files, unfinished multipart uploads),
      plain or async; the default sees nothing, and
      "nothing left behind" is then checked through the port alone;
    - ``unreachable_adapter`` (optional): a store that cannot be used (see
      :class:`ContractBase`).
    """

    @pytest.fixture
    def read_chunk(self) -> int:
        return 1000

    @pytest.fixture
    def leftovers(self) -> Leftovers:
        return list

    async def assert_nothing_behind(
        self, adapter: MediaStorage, key: str, leftovers: Leftovers
    ) -> None:
        """No blob under ``key``, nothing half-written, and the key can be saved afresh."""
        assert await is_missing(adapter, key)
        assert await left_behind(leftovers) == []
        assert (await adapter.save(key, chunks_of(b"afresh"))).size == len(b"afresh")
        assert await read_all(adapter, key, 0, 100) == b"afresh"

    # --- save returns key, size and SHA-256, and the bytes read back; empty blobs too ---

    async def test_a_saved_blob_reports_its_size_and_sha256_and_reads_back(
        self, adapter: MediaStorage
    ) -> None:
        blob = await adapter.save("blob-1", chunks_of(DATA[:3000], DATA[3000:], b""))

        assert (blob.key, blob.size, blob.sha256) == (
            "blob-1",
            len(DATA),
            hashlib.sha256(DATA).hexdigest(),
        )
        assert await read_all(adapter, "blob-1", 0, len(DATA) - 1) == DATA

    async def test_an_empty_blob_can_be_stored(self, adapter: MediaStorage) -> None:
        blob = await adapter.save("empty", chunks_of())

        assert blob.size == 0
        assert blob.sha256 == hashlib.sha256(b"").hexdigest()
        assert not await is_missing(adapter, "empty")
        assert await read_all(adapter, "empty", 0, 10) == b""

    # --- read_range: exactly its bytes, in bounded chunks, stopping at the last byte ---

    @pytest.mark.parametrize(
        ("start", "end"),
        [(0, 0), (1, 1), (999, 1000), (5000, 10_239), (10_239, 10_239), (17, 8000)],
    )
    async def test_a_range_reads_exactly_its_bytes(
        self, adapter: MediaStorage, start: int, end: int
    ) -> None:
        await adapter.save("blob", chunks_of(DATA))

        assert await read_all(adapter, "blob", start, end) == DATA[start : end + 1]

    async def test_a_range_is_read_in_chunks_not_at_once(
        self, adapter: MediaStorage, read_chunk: int
    ) -> None:
        await adapter.save("blob", chunks_of(DATA))

        chunks = [chunk async for chunk in adapter.read_range("blob", 0, len(DATA) - 1)]

        assert len(chunks) > 1
        assert max(len(chunk) for chunk in chunks) <= read_chunk

    async def test_a_range_past_the_end_stops_at_the_last_byte(self, adapter: MediaStorage) -> None:
        await adapter.save("blob", chunks_of(DATA))

        assert await read_all(adapter, "blob", 10_000, 20_000) == DATA[10_000:]

    # --- reading a key with no blob raises BlobMissing ---

    async def test_reading_a_missing_blob_is_not_found(self, adapter: MediaStorage) -> None:
        with pytest.raises(BlobMissing):
            await read_all(adapter, "nothing-here", 0, 10)

    # --- writes are atomic: invisible until complete; a failed or cancelled save leaves nothing

    async def test_a_write_that_fails_leaves_nothing_behind(
        self, adapter: MediaStorage, leftovers: Leftovers
    ) -> None:
        with pytest.raises(ValueError, match="disconnect"):
            await adapter.save("blob", failing_after([DATA, DATA], ValueError("disconnect")))

        await self.assert_nothing_behind(adapter, "blob", leftovers)

    async def test_a_cancelled_write_leaves_nothing_behind(
        self, adapter: MediaStorage, leftovers: Leftovers
    ) -> None:
        started = asyncio.Event()

        async def endless() -> AsyncIterator[bytes]:
            while True:
                started.set()
                yield DATA
                await asyncio.sleep(0.001)

        task = asyncio.create_task(adapter.save("blob", endless()))
        await started.wait()
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        await self.assert_nothing_behind(adapter, "blob", leftovers)

    async def test_a_blob_is_invisible_until_its_last_chunk_arrived(
        self, adapter: MediaStorage
    ) -> None:
        release = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield DATA
            await release.wait()
            yield DATA

        task = asyncio.create_task(adapter.save("blob", slow()))
        await asyncio.sleep(0.05)
        with pytest.raises(BlobMissing):
            await read_all(adapter, "blob", 0, 0)

        release.set()
        assert (await task).size == 2 * len(DATA)
        assert await read_all(adapter, "blob", 0, 2 * len(DATA)) == DATA + DATA

    # --- a stored blob is never replaced; of two concurrent saves exactly one wins ---

    async def test_a_stored_blob_is_never_replaced(
        self, adapter: MediaStorage, leftovers: Leftovers
    ) -> None:
        await adapter.save("blob", chunks_of(b"first"))

        with pytest.raises(AlreadyExists):
            await adapter.save("blob", chunks_of(b"second"))

        assert await read_all(adapter, "blob", 0, 100) == b"first"
        assert await left_behind(leftovers) == []

    async def test_two_concurrent_saves_of_one_key_keep_exactly_one(
        self, adapter: MediaStorage, leftovers: Leftovers
    ) -> None:
        results = await asyncio.gather(
            adapter.save("blob", chunks_of(b"a" * 5000, b"a" * 5000)),
            adapter.save("blob", chunks_of(b"b" * 5000, b"b" * 5000)),
            return_exceptions=True,
        )

        assert sorted(type(result).__name__ for result in results) == [
            "AlreadyExists",
            "StoredBlob",
        ]
        stored = await read_all(adapter, "blob", 0, 20_000)
        assert stored in (b"a" * 10_000, b"b" * 10_000)
        assert await left_behind(leftovers) == []

    # --- delete removes a blob and is idempotent ---

    async def test_delete_removes_a_blob_and_is_idempotent(self, adapter: MediaStorage) -> None:
        await adapter.save("blob", chunks_of(DATA))
        await adapter.save("kept", chunks_of(DATA))

        await adapter.delete("blob")
        await adapter.delete("blob")

        assert await is_missing(adapter, "blob")
        assert await read_all(adapter, "kept", 0, len(DATA)) == DATA

    # --- unsafe keys are refused with ValueError by every method ---

    @pytest.mark.parametrize("key", UNSAFE_KEYS)
    async def test_unsafe_keys_are_refused_by_every_method(
        self, adapter: MediaStorage, key: str
    ) -> None:
        with pytest.raises(ValueError, match="key"):
            await adapter.save(key, chunks_of(DATA))
        with pytest.raises(ValueError, match="key"):
            await read_all(adapter, key, 0, 1)
        with pytest.raises(ValueError, match="key"):
            await adapter.delete(key)
        with pytest.raises(ValueError, match="key"):
            adapter.local_path(key)

    # --- local_path, when not None, is an absolute path holding the bytes; None when missing ---

    async def test_a_local_path_when_there_is_one_holds_the_blob(
        self, adapter: MediaStorage
    ) -> None:
        await adapter.save("blob", chunks_of(DATA))

        path = adapter.local_path("blob")

        if path is not None:
            assert path.is_absolute()
            assert path.read_bytes() == DATA

    async def test_a_missing_blob_has_no_local_path(self, adapter: MediaStorage) -> None:
        await adapter.save("blob", chunks_of(DATA))
        await adapter.delete("blob")

        assert adapter.local_path("blob") is None
        assert adapter.local_path("never-saved") is None

    # --- when the store cannot be used, save raises Unavailable ---

    async def test_an_unusable_store_raises_unavailable(
        self, unreachable_adapter: MediaStorage
    ) -> None:
        with pytest.raises(Unavailable):
            await unreachable_adapter.save("blob", chunks_of(DATA))
