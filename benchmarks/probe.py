"""Time and peak memory of reading an upload: metadata, then its poster or waveform.

    .venv/bin/python -m benchmarks.probe [--minutes 10] [--folder DIR]

Encodes (once, cached in ``--folder``) a 10-second and a ``--minutes``-long
H.264 + AAC 1280x720 video and an MP3 of each length, then for each file runs
``PyAvMediaProbe.probe`` and ``picture`` in a fresh child process, through a
local folder (FFmpeg reads the path) and through the same folder without a
local path (512 KiB ranged reads over the port, as on S3). Reports wall seconds
of each step and the child's peak RSS (VmRSS sampled every 2 ms) above its RSS
just before probing (PyAV imported, nothing decoded). The generated files
stay in the folder for later runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import asyncio, json, sys, threading, time
from pathlib import Path
import av
from klantroef_adapters.media.pyav_probe import PyAvMediaProbe
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_core.ports import StoredMedia

path, store = Path(sys.argv[1]), sys.argv[2]


class RangedOnly(LocalMediaStorage):
    # No local path: the probe reads by ranges through the port, as it does on S3.
    def local_path(self, key):
        return None


def rss_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


peak = [0]
done = threading.Event()


def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss_kib())
        time.sleep(0.002)


async def main():
    storage = (LocalMediaStorage if store == "local" else RangedOnly)(path.parent)
    probe = PyAvMediaProbe(timeout=600)
    source = StoredMedia(storage, path.name, path.stat().st_size)
    before = rss_kib()
    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.perf_counter()
    info = await probe.probe(source)
    t1 = time.perf_counter()
    picture = await probe.picture(source, info)
    t2 = time.perf_counter()
    done.set()
    sampler.join()
    print(json.dumps({"probe": t1 - t0, "picture": t2 - t1, "kind": picture.content_type,
                      "bytes": len(picture.data), "rss_kib": peak[0] - before,
                      "before_kib": before}))

asyncio.run(main())
"""


def encode_video(path: Path, seconds: float) -> None:
    import av

    frames = round(seconds * 25)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        assert isinstance(video, av.VideoStream)
        video.width, video.height, video.pix_fmt = 1280, 720, "yuv420p"
        audio = out.add_stream("aac", rate=44100, layout="stereo")
        assert isinstance(audio, av.AudioStream)
        pattern = bytes(range(256)) * (1280 * 720 // 256 + 1)
        for index in range(frames):
            frame = av.VideoFrame(1280, 720, "yuv420p")
            for number, plane in enumerate(frame.planes):
                shift = (index * 3 + number * 17) % 256
                plane.update(pattern[shift : shift + plane.buffer_size])
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode())
        _tone(out, audio, seconds)


def encode_audio(path: Path, seconds: float) -> None:
    import av

    with av.open(str(path), "w") as out:
        audio = out.add_stream("libmp3lame", rate=44100, layout="stereo")
        assert isinstance(audio, av.AudioStream)
        _tone(out, audio, seconds)


def _tone(out: object, stream: object, seconds: float) -> None:
    import array
    import math

    import av

    assert isinstance(out, av.container.OutputContainer)
    assert isinstance(stream, av.AudioStream)
    size = stream.codec_context.frame_size or 1024
    period = array.array("f", (0.3 * math.sin(2 * math.pi * i / 100) for i in range(size * 2)))
    made, total = 0, round(seconds * 44100)
    while made < total:
        count = min(size, total - made)
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=count)
        for plane in frame.planes:
            plane.update(period[:count].tobytes().ljust(plane.buffer_size, b"\0"))
        frame.sample_rate, frame.pts = 44100, made
        out.mux(stream.encode(frame))
        made += count
    out.mux(stream.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--folder", type=Path, default=Path(tempfile.gettempdir()) / "klantroef-probe-bench"
    )
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    files = []
    for label, seconds in (("10 s", 10.0), (f"{args.minutes:g} min", args.minutes * 60)):
        for kind, encode, suffix in (
            ("video", encode_video, "mp4"),
            ("audio", encode_audio, "mp3"),
        ):
            path = args.folder / f"{kind}-{seconds:g}s.{suffix}"
            if not path.exists():
                started = time.perf_counter()
                encode(path.with_suffix(".part" + path.suffix), seconds)
                path.with_suffix(".part" + path.suffix).rename(path)
                print(
                    f"encoded {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr
                )
            files.append((f"{kind}, {label}", path))
    print("| file | size | read | probe s | picture s | total s | peak RSS growth |")
    print("|---|---|---|---|---|---|---|")
    for label, path in files:
        for store in ("local", "ranged"):
            run = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), store],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(run.stdout)
            size = path.stat().st_size / 1024 / 1024
            print(
                f"| {label} | {size:.1f} MiB | {store} | {r['probe']:.3f} | {r['picture']:.3f} | "
                f"{r['probe'] + r['picture']:.3f} | {r['rss_kib'] / 1024:.1f} MiB |"
            )


if __name__ == "__main__":
    main()
