"""Media bytes as objects in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, ...).

A blob is written with one conditional PUT when it is smaller than a part, else
streamed into a multipart upload: parts of a fixed size, one on the wire while
the next fills, so an upload holds about two parts in memory and never touches
local disk. Both writes carry ``If-None-Match: *`` (the PUT and the
CompleteMultipartUpload), so a taken key is refused by the store itself and the
stored blob is never replaced, even when two writers race. An upload that fails
or is cancelled is aborted (shielded from a second cancellation), so no parts are
left behind. Reads are one ranged GET each, passed on in bounded chunks as they
arrive; a reader that stops taking chunks for a while gives its connection back
and resumes with a new ranged GET, so slow clients never starve the pool.

Every request has a connect and a read timeout; any failure of the store
(network, timeout, 5xx, refusal) is :class:`~klantroef_core.errors.Unavailable`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError

from klantroef_adapters.storage.keys import check_key
from klantroef_core.errors import AlreadyExists, BlobMissing, Unavailable
from klantroef_core.ports import StoredBlob

if TYPE_CHECKING:
    from aiobotocore.response import StreamingBody
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3's floor for every part but the last
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # SigV4's ceiling for a presigned URL
MAX_PARTS = 10_000  # S3's ceiling: with 8 MiB parts, blobs up to about 78 GiB

_log = logging.getLogger(__name__)

# Failures of the store itself (as opposed to its answers): no connection, a
# timeout, a broken or short response body.
TRANSPORT_ERRORS = (BotoCoreError, aiohttp.ClientError, TimeoutError, OSError)
MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
_TAKEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


@functools.cache
def _session() -> AioSession:
    """One botocore session per process: it parses the S3 service model once (about
    0.1 s a time); the clients made from it are each bound to their event loop."""
    return get_session()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def store_unavailable(action: str, exc: BaseException, *, explain: bool = False) -> Unavailable:
    """``Unavailable`` for a failed store call. Its detail may reach anyone holding a stream
    link, so it names no endpoint, bucket or key; the reason stays with the cause (logged).
    ``explain`` adds the store's reason, for the start-up checks only an operator sees."""
    detail = f"the media store cannot {action}"
    if explain:
        if isinstance(exc, ClientError):
            message = exc.response.get("Error", {}).get("Message", "")
            detail += f" ({error_code(exc) or 'error'}: {message})"
        else:
            detail += f" ({type(exc).__name__}: {exc})"
    return Unavailable(detail, code="storage_unavailable")


def _taken() -> AlreadyExists:
    return AlreadyExists("a blob with this key exists")


class _MultipartUpload:
    """One multipart upload: parts go out one at a time, each while the next fills."""

    def __init__(self, s3: S3Client, bucket: str, name: str, upload_id: str) -> None:
        self._s3, self._bucket, self._name, self._upload_id = s3, bucket, name, upload_id
        self._parts: list[CompletedPartTypeDef] = []
        self._sending: asyncio.Task[None] | None = None

    async def add(self, pieces: list[bytes]) -> None:
        """Send ``pieces`` as the next part, once the previous part has arrived.

        The part is joined only then, so at most the part on the wire and the one
        being joined are in memory; ``pieces`` is emptied.
        """
        await self._drain()
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise ValueError(f"a blob may have at most {MAX_PARTS} parts; use larger parts")
        data = b"".join(pieces)
        pieces.clear()
        self._sending = asyncio.create_task(self._send(number, data))

    async def _send(self, number: int, data: bytes) -> None:
        try:
            answer = await self._s3.upload_part(
                Bucket=self._bucket,
                Key=self._name,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=data,  # bytes: aiohttp sends it without a copy (not so a bytearray)
            )
        except (ClientError, *TRANSPORT_ERRORS) as exc:
            raise store_unavailable("store a part", exc) from exc
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    async def _drain(self) -> None:
        sending, self._sending = self._sending, None
        if sending is not None:
            await sending

    async def complete(self) -> None:
        """Publish the blob, unless its key was taken meanwhile (then :class:`~klantroef_core.errors.AlreadyExists`)."""
        await self._drain()
        try:
            await self._s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self._name,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if error_code(exc) in _TAKEN:
                raise _taken() from exc
            raise store_unavailable("complete an upload", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable("complete an upload", exc) from exc

    async def abort(self) -> None:
        """Stop a part in flight and drop every part stored so far. Never raises."""
        sending, self._sending = self._sending, None
        if sending is not None:
            sending.cancel()
            await asyncio.wait({sending})  # its failure, if any, is why we are aborting
            if not sending.cancelled():
                sending.exception()  # retrieved, so asyncio does not report it as lost
        try:
            await self._s3.abort_multipart_upload(
                Bucket=self._bucket, Key=self._name, UploadId=self._upload_id
            )
        except (ClientError, *TRANSPORT_ERRORS) as exc:
            if isinstance(exc, ClientError) and error_code(exc) == "NoSuchUpload":
                return  # completed or aborted already
            _log.warning(
                "could not abort multipart upload %s of %s: %s", self._upload_id, self._name, exc
            )


class S3MediaStorage:
    """Blobs as objects named ``prefix + key`` in one bucket of an S3-compatible store.

    ``endpoint`` is for stores other than AWS (``http://127.0.0.1:8333``); with
    one, requests use path-style addressing. ``part_size`` (at least 5 MiB) is the
    size of every multipart part but the last, and the threshold under which a
    blob goes in one PUT. Timeouts are in seconds: ``connect_timeout`` to open a
    connection, ``read_timeout`` for each wait on the store's answer.
    ``max_attempts`` counts the first try (connection errors and 5xx are retried).

    Make it inside the event loop that will use it; call :meth:`close` at the end.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        part_size: int = 8 * MIB,
        read_chunk: int = 64 * 1024,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_attempts: int = 2,
        max_connections: int = 32,
        release_after: float = 2.0,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        if read_chunk < 1:
            raise ValueError("read_chunk must be positive")
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self._read_chunk = read_chunk
        self._release_after = release_after
        self._endpoint = endpoint
        self._region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._config = AioConfig(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            max_pool_connections=max_connections,
            s3={"addressing_style": "path" if endpoint else "auto"},
            signature_version="s3v4",  # also for presigned URLs (botocore would sign those v2)
            # Our own SHA-256 covers the content; skip a second checksum over every part.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: S3Client | None = None
        self._exit_stack: AsyncExitStack | None = None
        self._opening = asyncio.Lock()
        self._aborts: set[asyncio.Task[None]] = set()

    # --- the client -------------------------------------------------------------------

    async def client(self) -> S3Client:
        """The store's client (made on first use), for adapters that share its pool."""
        return await self._s3()

    async def _s3(self) -> S3Client:
        if self._client is not None:
            return self._client
        async with self._opening:
            if self._client is None:
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(
                    _session().create_client(
                        "s3",
                        endpoint_url=self._endpoint,
                        region_name=self._region,
                        aws_access_key_id=self._access_key_id,
                        aws_secret_access_key=self._secret_access_key,
                        config=self._config,
                    )
                )
                self._exit_stack = stack
            return self._client

    async def close(self) -> None:
        """Wait for aborts still running, then close the connection pool."""
        if self._aborts:
            await asyncio.gather(*self._aborts, return_exceptions=True)
        stack, self._exit_stack, self._client = self._exit_stack, None, None
        if stack is not None:
            await stack.aclose()

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    # --- MediaStorage -----------------------------------------------------------------

    async def save(self, key: str, chunks: AsyncIterator[bytes]) -> StoredBlob:
        name = self._name(key)
        s3 = await self._s3()  # a taken key is refused by the conditional writes
        digest = hashlib.sha256()
        size = 0
        pending: list[bytes] = []  # the part being filled, as the chunks came
        pending_size = 0
        upload: _MultipartUpload | None = None
        try:
            async for received in chunks:
                digest.update(received)
                size += len(received)
                chunk = received
                while pending_size + len(chunk) >= self.part_size:
                    cut = self.part_size - pending_size  # only a chunk on the boundary is split
                    pending.append(chunk[:cut])
                    chunk = chunk[cut:]
                    if upload is None:
                        upload = await self._start_upload(s3, name)
                    await upload.add(pending)
                    pending_size = 0
                if chunk:
                    pending.append(chunk)
                    pending_size += len(chunk)
            if upload is None:
                await self._put_new(s3, name, b"".join(pending))
            else:
                if pending:
                    await upload.add(pending)
                await upload.complete()
        except BaseException:
            # Also on cancellation (a client that went away): no parts may stay behind.
            if upload is not None:
                await self._shielded(upload.abort())
            raise
        return StoredBlob(key=key, size=size, sha256=digest.hexdigest())

    async def _shielded(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` to its end even if the caller is cancelled meanwhile.

        A second cancellation still reaches the caller at once; the work goes on
        (held in ``_aborts``, awaited by :meth:`close`).
        """
        task = asyncio.ensure_future(work)
        self._aborts.add(task)
        task.add_done_callback(self._aborts.discard)
        await asyncio.shield(task)

    async def _start_upload(self, s3: S3Client, name: str) -> _MultipartUpload:
        try:
            created = await s3.create_multipart_upload(Bucket=self.bucket, Key=name)
        except (ClientError, *TRANSPORT_ERRORS) as exc:
            raise store_unavailable("start an upload", exc) from exc
        return _MultipartUpload(s3, self.bucket, name, created["UploadId"])

    async def _put_new(self, s3: S3Client, name: str, data: bytes) -> None:
        try:
            await s3.put_object(Bucket=self.bucket, Key=name, Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if error_code(exc) in _TAKEN:
                raise _taken() from exc
            raise store_unavailable("store a blob", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable("store a blob", exc) from exc

    def read_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes ``start`` to ``end``, as they arrive, in chunks of at most ``read_chunk``.

        A consumer that keeps a chunk longer than ``release_after`` seconds (a slow
        client whose socket is full) gives its connection back to the pool: the
        response is closed, and the next chunk comes from a new ranged GET from where
        it stopped. So slow readers never hold the pool's connections, which every
        other request (uploads, other streams) needs.
        """
        return self.read_object(key, self._name(key), start, end)

    async def read_object(self, key: str, name: str, start: int, end: int) -> AsyncGenerator[bytes]:
        """:meth:`read_range` of the object ``name`` (any name in the bucket), its
        :class:`~klantroef_core.errors.BlobMissing` naming ``key``."""
        if start < 0 or end < start:
            raise ValueError(f"not a byte range: {start}-{end}")
        s3 = await self._s3()
        opened = await self._open_range(s3, key, name, start, end)
        if opened is None:
            return
        body: StreamingBody = opened
        released = False

        def release() -> None:
            nonlocal released
            released = True
            body.close()

        loop = asyncio.get_running_loop()
        position = start
        try:
            while position <= end:
                if released:  # the consumer stalled: ask again from where it stopped
                    try:
                        reopened = await self._open_range(s3, key, name, position, end)
                    except BlobMissing:  # deleted meanwhile: the stream ends short, and
                        return  # the server aborts the response it cannot finish
                    if reopened is None:
                        return
                    body, released = reopened, False
                try:
                    chunk = await body.read(min(self._read_chunk, end - position + 1))
                except TRANSPORT_ERRORS as exc:
                    raise store_unavailable("read a blob", exc) from exc
                if not chunk:
                    return
                position += len(chunk)
                timer = loop.call_later(self._release_after, release)
                try:
                    yield chunk
                finally:
                    timer.cancel()
        finally:
            body.close()  # also when the consumer stops early (aclose)

    async def _open_range(
        self, s3: S3Client, key: str, name: str, start: int, end: int
    ) -> StreamingBody | None:
        """The streaming body of a ranged GET; None when the blob ends before ``start``."""
        try:
            answer = await s3.get_object(Bucket=self.bucket, Key=name, Range=f"bytes={start}-{end}")
        except ClientError as exc:
            code = error_code(exc)
            if code in MISSING_CODES:
                raise BlobMissing(key) from exc
            if code == "InvalidRange":  # the blob exists but ends before ``start``
                return None
            raise store_unavailable("read a blob", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable("read a blob", exc) from exc
        body = answer["Body"]
        content_range = answer.get("ContentRange", "")
        if not content_range.startswith(f"bytes {start}-") and not (
            start == 0 and not content_range
        ):
            body.close()
            raise Unavailable(
                f"the media store ignored a range request ({content_range!r})",
                code="storage_unavailable",
            )
        return body

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    async def delete(self, key: str) -> None:
        name = self._name(key)
        s3 = await self._s3()
        try:
            await s3.delete_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if error_code(exc) in MISSING_CODES:
                return
            raise store_unavailable("delete a blob", exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable("delete a blob", exc) from exc

    async def ensure_bucket(self, create: bool = True) -> None:
        """Make sure the bucket exists: create it if missing (``create``), else raise.

        Raises :class:`Unavailable` (code ``storage_bucket_missing``) when the bucket
        is missing and ``create`` is false, and when the store refuses or cannot be
        reached.
        """
        s3 = await self._s3()
        try:
            await s3.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise store_unavailable(
                    f"check the bucket {self.bucket!r}", exc, explain=True
                ) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable(f"check the bucket {self.bucket!r}", exc, explain=True) from exc
        if not create:
            raise Unavailable(
                f"the media bucket {self.bucket!r} does not exist", code="storage_bucket_missing"
            )
        try:
            if self._region == "us-east-1":
                await s3.create_bucket(Bucket=self.bucket)
            else:
                await s3.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": self._region},  # type: ignore[typeddict-item]
                )
        except ClientError as exc:
            if error_code(exc) in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                return  # created meanwhile by another instance
            raise store_unavailable(
                f"create the bucket {self.bucket!r}", exc, explain=True
            ) from exc
        except TRANSPORT_ERRORS as exc:
            raise store_unavailable(
                f"create the bucket {self.bucket!r}", exc, explain=True
            ) from exc

    async def direct_url(self, key: str, expires_at: datetime, *, content_type: str) -> str | None:
        """A presigned GET that the store refuses after ``expires_at`` (never later).

        It lives whole seconds from the next whole second on: the signature's date is
        this second (rounded down) and the URL dies at that date plus its lifetime,
        so the lifetime is ``expires_at`` (rounded down) less now (rounded up).
        """
        await self._s3()  # the client first: making it may fetch credentials, which takes time
        # A second less, for the moments between now and the signature's own date.
        seconds = math.floor(expires_at.timestamp()) - math.ceil(time.time()) - 1
        if seconds < 1:
            return None
        return await self.presigned_get_url(
            key,
            min(seconds, MAX_PRESIGNED_SECONDS),
            content_type=content_type,
            cache_control="private, max-age=0, must-revalidate",
        )

    async def presigned_get_url(
        self,
        key: str,
        expires_in_seconds: int,
        *,
        content_type: str | None = None,
        content_disposition: str | None = None,
        cache_control: str | None = None,
    ) -> str:
        """A URL that GETs the blob (ranges allowed) without credentials until it expires.

        The ``content_*``/``cache_control`` values are sent back by the store as
        the response's headers (S3's ``response-*`` query parameters). Signing is
        local: no request is made, so a missing blob is only noticed by the GET.
        """
        name = self._name(key)
        if not 0 < expires_in_seconds <= MAX_PRESIGNED_SECONDS:
            raise ValueError("a presigned URL lives between 1 second and 7 days")
        params: dict[str, str] = {"Bucket": self.bucket, "Key": name}
        if content_type is not None:
            params["ResponseContentType"] = content_type
        if content_disposition is not None:
            params["ResponseContentDisposition"] = content_disposition
        if cache_control is not None:
            params["ResponseCacheControl"] = cache_control
        s3 = await self._s3()
        return await s3.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_in_seconds
        )
