"""Partial uploads in the media bucket, so that any host can continue any upload.

An upload ``id`` lives under ``<prefix>uploads/<id>/``:

- ``data``: the key of an S3 multipart upload, started by :meth:`~S3PartialUploads.create`.
  Byte ``n`` of the upload belongs to part ``n // part_size + 1``; every part is
  whole (``part_size`` bytes, at least S3's 5 MiB) except the last one, which
  :meth:`~S3PartialUploads.read` adds when the upload is complete, and then
  completes it: ``data`` becomes the whole file.
- ``mpu-<id in base64url>``: an empty object naming the multipart upload, so that
  one listing of the folder tells an append everything it needs.
- ``tail-<k>``: the bytes from ``k * part_size`` to the end of an append that
  stopped inside block ``k`` (S3 cannot read back parts of an unfinished upload,
  nor take a part under 5 MiB but the last, so what does not fill a part waits here).

An append at ``offset`` (block ``k``) reads ``tail-k`` back up to ``offset`` (the
recorded offset is the truth; a longer tail is what a failed append left), adds
the new bytes, sends each whole part as it fills (at most one part in memory),
and writes what is left over as the tail of its last block. Nothing an earlier
state needs is overwritten before the caller records the new offset: parts past
the offset are replaced by the next append, and ``tail-k`` stays until an append
starts past block ``k``. So an append can be cut back to where it started, which
is all the use case asks of ``PartialUploads`` (its offset never goes back). A
part number uploaded again replaces the earlier part (S3's rule); in tus it is
only ever uploaded again with the same bytes (a client resends its file from the
recorded offset), so a store that may complete with either copy (SeaweedFS
keeps both) still assembles the right file.

Of two appends at the same time, on any hosts, the second is refused with
:class:`~klantroef_core.errors.UploadBusy` by a claim in ``leases`` (shared, renewed
while the append runs, expiring if its host dies). An append returns only once
the store has acknowledged every part and the tail. Failures of the store are
:class:`~klantroef_core.errors.Unavailable`, as for media.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from klantroef_adapters.storage.keys import check_key
from klantroef_adapters.storage.leases import HeldLease, UploadLeases, held
from klantroef_adapters.storage.s3 import (
    MAX_PARTS,
    MIB,
    MIN_PART_SIZE,
    MISSING_CODES,
    TRANSPORT_ERRORS,
    S3MediaStorage,
    error_code,
    store_unavailable,
)
from klantroef_core.errors import BlobMissing

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

FOLDER = "uploads/"
DATA = "data"
MARKER = "mpu-"
TAIL = "tail-"
_TAIL_NAME = re.compile(r"tail-(\d+)")
_STORE_ERRORS = (ClientError, *TRANSPORT_ERRORS)


def part_size_for(max_bytes: int) -> int:
    """The smallest whole number of MiB, 8 at least, whose 10,000 parts hold ``max_bytes``."""
    return max(8 * MIB, -(-max_bytes // (MAX_PARTS * MIB)) * MIB)


@dataclass
class _Folder:
    """What one listing of an upload's folder says."""

    upload_id: str | None = None  # the multipart upload's, while it is unfinished
    data_size: int | None = None  # the finished object's, once read completed it
    tails: dict[int, int] = field(default_factory=dict)  # block -> bytes


class S3PartialUploads:
    """:class:`~klantroef_core.ports.PartialUploads` in the bucket of ``store``, on its client.

    ``part_size`` (at least 5 MiB) fixes which bytes make which part: keep it the
    same on every host and across restarts while uploads are unfinished.
    ``lease_seconds`` is how long a host that died mid-append blocks its upload.
    """

    def __init__(
        self,
        store: S3MediaStorage,
        leases: UploadLeases,
        *,
        part_size: int = 8 * MIB,
        lease_seconds: float = 30.0,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self._store = store
        self._leases = leases
        self.part_size = part_size
        self._lease_seconds = lease_seconds

    def folder(self, upload_id: str) -> str:
        """Where upload ``upload_id`` keeps its objects (every name starts so)."""
        return f"{self._store.prefix}{FOLDER}{check_key(upload_id)}/"

    @property
    def _bucket(self) -> str:
        return self._store.bucket

    # --- PartialUploads -------------------------------------------------------------------

    async def create(self, upload_id: str) -> None:
        folder = self.folder(upload_id)
        s3 = await self._store.client()
        try:
            started = await s3.create_multipart_upload(Bucket=self._bucket, Key=folder + DATA)
            marker = base64.urlsafe_b64encode(started["UploadId"].encode()).decode().rstrip("=")
            await s3.put_object(Bucket=self._bucket, Key=f"{folder}{MARKER}{marker}", Body=b"")
        except _STORE_ERRORS as exc:
            raise store_unavailable("start an upload", exc) from exc

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterator[bytes]) -> int:
        folder = self.folder(upload_id)
        if offset < 0:
            raise ValueError("an offset is never negative")
        s3 = await self._store.client()
        async with held(self._leases, upload_id, self._lease_seconds) as lease:
            state = await self._list(s3, folder)
            if state.upload_id is None:
                return await self._append_to_finished(upload_id, state, offset, chunks)
            return await self._append(s3, folder, state, offset, chunks, lease=lease)

    async def read(self, upload_id: str, length: int) -> AsyncIterator[bytes]:
        folder = self.folder(upload_id)
        s3 = await self._store.client()
        state = await self._list(s3, folder)
        size = state.data_size
        if size is None:
            if state.upload_id is None:
                raise BlobMissing(upload_id)
            if length == 0:
                return  # S3 has no empty multipart upload; nothing to read either
            await self._complete(s3, folder, state, length)
            size = length
        if size < length:
            raise BlobMissing(upload_id)
        if length == 0:
            return
        async with aclosing(
            self._store.read_object(upload_id, folder + DATA, 0, length - 1)
        ) as body:
            async for chunk in body:
                yield chunk

    async def discard(self, upload_id: str) -> None:
        folder = self.folder(upload_id)
        s3 = await self._store.client()
        try:
            # Every multipart upload at the key, even one whose marker a crash left unwritten.
            listed = await s3.list_multipart_uploads(Bucket=self._bucket, Prefix=folder + DATA)
            for upload in listed.get("Uploads", []):
                if upload.get("Key") == folder + DATA and "UploadId" in upload:
                    await self._abort(s3, folder, upload["UploadId"])
            names = await self._names(s3, folder)
            if names:
                await s3.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": [{"Key": name} for name in names], "Quiet": True},
                )
        except _STORE_ERRORS as exc:
            raise store_unavailable("remove an upload", exc) from exc

    # --- appending ------------------------------------------------------------------------

    async def _append(
        self,
        s3: S3Client,
        folder: str,
        state: _Folder,
        offset: int,
        chunks: AsyncIterator[bytes],
        *,
        lease: HeldLease,
    ) -> int:
        assert state.upload_id is not None
        first, kept = divmod(offset, self.part_size)
        if state.tails.get(first, 0) < kept:
            raise BlobMissing(folder)
        block = first  # the block ``pending`` starts at
        pending = bytearray()
        loaded = kept == 0
        async for chunk in chunks:
            if not loaded:  # the tail only once bytes come: an empty append reads nothing
                pending += await self._get(s3, folder + f"{TAIL}{first}", kept)
                loaded = True
            pending += chunk
            while len(pending) >= self.part_size:
                lease.check()
                with memoryview(pending) as view:
                    part = bytes(view[: self.part_size])
                del pending[: self.part_size]
                await self._put_part(s3, folder, state.upload_id, block + 1, part)
                block += 1
        lease.check()
        if not loaded:  # no bytes came, and the offset is inside block ``first``
            if state.tails[first] > kept:  # what a failed advance left: cut it off
                await self._put(
                    s3,
                    f"{folder}{TAIL}{first}",
                    await self._get(s3, f"{folder}{TAIL}{first}", kept),
                )
            end = offset
        else:
            end = block * self.part_size + len(pending)
            if pending or state.tails.get(block, 0):  # an empty one cuts off a longer tail
                await self._put(s3, f"{folder}{TAIL}{block}", bytes(pending))
        # Tails neither the old offset nor the new one can need again.
        stale = [f"{folder}{TAIL}{b}" for b in state.tails if b not in {first, block}]
        if stale:
            await self._delete(s3, stale)
        return end

    async def _append_to_finished(
        self, upload_id: str, state: _Folder, offset: int, chunks: AsyncIterator[bytes]
    ) -> int:
        """An upload whose object was completed by :meth:`read` takes no more bytes; an
        empty append (a client asking again after a failure) finds its offset there."""
        if state.data_size is None or state.data_size < offset:
            raise BlobMissing(upload_id)
        async for chunk in chunks:
            if chunk:
                raise BlobMissing(upload_id)
        return offset

    # --- completing -----------------------------------------------------------------------

    async def _complete(self, s3: S3Client, folder: str, state: _Folder, length: int) -> None:
        """Make ``data`` the first ``length`` bytes: whole parts, then the tail as the last."""
        assert state.upload_id is not None
        whole, rest = divmod(length, self.part_size)
        stored = await self._parts(s3, folder, state.upload_id)
        parts: list[CompletedPartTypeDef] = []
        for number in range(1, whole + 1):
            etag, size = stored.get(number, ("", 0))
            if size != self.part_size:
                raise BlobMissing(folder)
            parts.append({"PartNumber": number, "ETag": etag})
        if rest:
            if state.tails.get(whole, 0) < rest:
                raise BlobMissing(folder)
            tail = await self._get(s3, f"{folder}{TAIL}{whole}", rest)
            etag = await self._put_part(s3, folder, state.upload_id, whole + 1, tail)
            parts.append({"PartNumber": whole + 1, "ETag": etag})
        try:
            await s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=folder + DATA,
                UploadId=state.upload_id,
                MultipartUpload={"Parts": parts},
            )
        except _STORE_ERRORS as exc:
            raise store_unavailable("complete an upload", exc) from exc

    async def _parts(self, s3: S3Client, folder: str, upload_id: str) -> dict[int, tuple[str, int]]:
        """Every stored part: number -> (ETag, size), a page of 1,000 at a time."""
        found: dict[int, tuple[str, int]] = {}
        marker = 0
        try:
            while True:
                page = await s3.list_parts(
                    Bucket=self._bucket,
                    Key=folder + DATA,
                    UploadId=upload_id,
                    PartNumberMarker=marker,
                )
                for part in page.get("Parts", []):
                    found[part["PartNumber"]] = (part["ETag"], part["Size"])
                if not page.get("IsTruncated"):
                    return found
                marker = int(page["NextPartNumberMarker"])
        except ClientError as exc:
            if error_code(exc) == "NoSuchUpload":
                raise BlobMissing(folder) from exc
            raise store_unavailable("list an upload's parts", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable("list an upload's parts", exc) from exc

    # --- the store's calls ----------------------------------------------------------------

    async def _list(self, s3: S3Client, folder: str) -> _Folder:
        state = _Folder()
        try:
            listed = await s3.list_objects_v2(Bucket=self._bucket, Prefix=folder)
        except _STORE_ERRORS as exc:
            raise store_unavailable("read an upload", exc) from exc
        for entry in listed.get("Contents", []):
            name, size = entry["Key"][len(folder) :], entry.get("Size", 0)
            if name == DATA:
                state.data_size = size
            elif name.startswith(MARKER):
                state.upload_id = _decoded(name[len(MARKER) :])
            elif tail := _TAIL_NAME.fullmatch(name):
                state.tails[int(tail.group(1))] = size
        if state.data_size is not None:
            state.upload_id = None  # completed: its multipart upload is no more
        return state

    async def _names(self, s3: S3Client, folder: str) -> list[str]:
        listed = await s3.list_objects_v2(Bucket=self._bucket, Prefix=folder)
        return [entry["Key"] for entry in listed.get("Contents", [])]

    async def _get(self, s3: S3Client, name: str, length: int) -> bytes:
        """The first ``length`` bytes of object ``name`` (at most a part: a tail)."""
        if length == 0:
            return b""
        try:
            answer = await s3.get_object(
                Bucket=self._bucket, Key=name, Range=f"bytes=0-{length - 1}"
            )
            body = answer["Body"]
            try:
                data: bytes = await body.read()
            finally:
                body.close()
        except ClientError as exc:
            if error_code(exc) in MISSING_CODES:
                raise BlobMissing(name) from exc
            raise store_unavailable("read an upload", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable("read an upload", exc) from exc
        if len(data) < length:
            raise BlobMissing(name)
        return data[:length]

    async def _put(self, s3: S3Client, name: str, data: bytes) -> None:
        try:
            await s3.put_object(Bucket=self._bucket, Key=name, Body=data)
        except _STORE_ERRORS as exc:
            raise store_unavailable("store an upload's bytes", exc) from exc

    async def _put_part(
        self, s3: S3Client, folder: str, upload_id: str, number: int, data: bytes
    ) -> str:
        if number > MAX_PARTS:
            raise ValueError(f"an upload may have at most {MAX_PARTS} parts; use larger parts")
        try:
            answer = await s3.upload_part(
                Bucket=self._bucket,
                Key=folder + DATA,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
            )
        except ClientError as exc:
            if error_code(exc) == "NoSuchUpload":
                raise BlobMissing(folder) from exc
            raise store_unavailable("store a part", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable("store a part", exc) from exc
        return answer["ETag"]

    async def _delete(self, s3: S3Client, names: list[str]) -> None:
        try:
            await s3.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": name} for name in names], "Quiet": True},
            )
        except _STORE_ERRORS as exc:
            raise store_unavailable("remove an upload's bytes", exc) from exc

    async def _abort(self, s3: S3Client, folder: str, upload_id: str) -> None:
        try:
            await s3.abort_multipart_upload(
                Bucket=self._bucket, Key=folder + DATA, UploadId=upload_id
            )
        except ClientError as exc:
            if error_code(exc) != "NoSuchUpload":
                raise


def _decoded(marker: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
