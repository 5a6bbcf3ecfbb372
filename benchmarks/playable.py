"""The start of a real MP4 of any size: uploads are read by FFmpeg, so they must be media.

A one-frame clip (PyAV, under 1 KB), then the header of a ``free`` box (64-bit size)
that holds the rest: whatever bytes follow, the file stays a valid MP4.
"""

from __future__ import annotations

import functools
import struct

FREE_HEADER = 16


@functools.cache
def _clip() -> bytes:
    from klantroef_adapters.testing.media_files import video_file

    return video_file(0.04, width=16, height=16, audio=False)


def playable_head(size: int) -> bytes:
    """The first bytes of an MP4 of exactly ``size`` bytes; any bytes may make up the rest."""
    clip = _clip()
    rest = size - len(clip)
    if rest < FREE_HEADER:
        raise ValueError(f"a playable file takes at least {len(clip) + FREE_HEADER} bytes")
    return clip + struct.pack(">I", 1) + b"free" + struct.pack(">Q", rest)
