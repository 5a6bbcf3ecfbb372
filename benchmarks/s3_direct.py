"""The ceilings of the S3 cases: the same transfers made straight against the S3 gateway.

A plain aiobotocore client in the harness's process, against the same SeaweedFS the
server under test stores its media on, in the same run:

- ``upload``: the file streamed from disk into one multipart upload of 8 MiB parts,
  one part on the wire while the next is read (as the adapter sends them);
- ``whole``: whole-object GETs, ``connections`` at a time, read in 1 MiB chunks,
  for a bounded time;
- ``ranges``: 1 MiB ranged GETs at random offsets, ``connections`` at a time, for a
  bounded time.

All traffic goes to the loopback endpoint the harness started.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from benchmarks.results import Measurement

if TYPE_CHECKING:
    from tests.seaweedfs import SeaweedS3

MIB = 1024 * 1024
PART = 8 * MIB  # the adapter's default part size
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DirectS3:
    """Where the direct transfers go: the gateway and a bucket that exists."""

    s3: SeaweedS3
    bucket: str

    def _run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async def main() -> T:
            from aiobotocore.config import AioConfig
            from aiobotocore.session import get_session

            config = AioConfig(max_pool_connections=64, s3={"addressing_style": "path"})
            async with get_session().create_client(
                "s3",
                endpoint_url=self.s3.endpoint,
                region_name=self.s3.region,
                aws_access_key_id=self.s3.access_key_id,
                aws_secret_access_key=self.s3.secret_access_key,
                config=config,
            ) as client:
                return await work(client)

        return asyncio.run(main())

    def make_bucket(self) -> None:
        """Create the bucket (before the server starts, so both see the same one)."""

        async def work(client: Any) -> None:
            await client.create_bucket(Bucket=self.bucket)

        self._run(work)

    def upload(self, path: Path, key: str) -> float:
        """Seconds to upload ``path`` to ``key`` (multipart), timed from the first request."""

        async def work(client: Any) -> float:
            started = time.perf_counter()
            created = await client.create_multipart_upload(Bucket=self.bucket, Key=key)
            upload_id = created["UploadId"]
            parts: list[dict[str, Any]] = []

            async def send(number: int, data: bytes) -> None:
                answer = await client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})

            in_flight: asyncio.Task[None] | None = None
            with path.open("rb") as source:
                number = 0
                while data := source.read(PART):
                    number += 1
                    if in_flight is not None:
                        await in_flight
                    in_flight = asyncio.create_task(send(number, data))
            if in_flight is not None:
                await in_flight
            parts.sort(key=lambda part: int(part["PartNumber"]))
            await client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            return time.perf_counter() - started

        return self._run(work)

    def delete(self, key: str) -> None:
        """Remove ``key`` (the uploads are not kept, as the upload case deletes its own)."""

        async def work(client: Any) -> None:
            await client.delete_object(Bucket=self.bucket, Key=key)

        self._run(work)

    def whole(self, key: str, size: int, connections: int, seconds: float) -> Measurement:
        """Bytes/s of whole-object GETs of ``key``, ``connections`` at a time, for ``seconds``
        (a GET still running at the deadline counts the bytes it has read by then)."""

        async def work(client: Any) -> Measurement:
            deadline = time.perf_counter() + seconds
            received = [0]
            latencies: list[float] = []

            async def loop() -> None:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    answer = await client.get_object(Bucket=self.bucket, Key=key)
                    body = answer["Body"]
                    async with body:
                        while chunk := await body.read(MIB):
                            received[0] += len(chunk)
                            if time.perf_counter() >= deadline:
                                return
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(loop() for _ in range(connections)))
            return _measurement(received[0] / (time.perf_counter() - started), "B/s", latencies)

        return self._run(work)

    def ranges(self, key: str, size: int, connections: int, seconds: float) -> Measurement:
        """Requests/s of 1 MiB ranged GETs at random offsets, ``connections`` at a time."""

        async def work(client: Any) -> Measurement:
            deadline = time.perf_counter() + seconds
            rng = random.Random(size)
            latencies: list[float] = []

            async def loop() -> None:
                while time.perf_counter() < deadline:
                    offset = rng.randrange(0, size - MIB)
                    started = time.perf_counter()
                    answer = await client.get_object(
                        Bucket=self.bucket, Key=key, Range=f"bytes={offset}-{offset + MIB - 1}"
                    )
                    body = answer["Body"]
                    async with body:
                        count = 0
                        while chunk := await body.read(MIB):
                            count += len(chunk)
                    if count != MIB:
                        raise RuntimeError(f"a 1 MiB range returned {count} bytes")
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(loop() for _ in range(connections)))
            elapsed = time.perf_counter() - started
            return _measurement(len(latencies) / elapsed, "req/s", latencies)

        return self._run(work)


def _measurement(value: float, unit: str, latencies: list[float]) -> Measurement:
    ordered = sorted(latencies)

    def pct(share: float) -> float | None:
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    return Measurement(value, unit, pct(0.5), pct(0.99), requests=len(ordered))
