"""HLS packages: a media item remuxed into an init segment and fMP4 media segments.

A package is made once per item (by the ``MediaPackager`` port) and never
changes; the playlist is written from it per request, with each URL made by
the caller (so the link's token rides on every init and segment URL).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from klantroef_core.errors import InvalidInput

INIT_NAME = "init.mp4"
PLAYLIST_NAME = "index.m3u8"
PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_NAME = re.compile(r"seg-[0-9]{5}\.m4s", re.ASCII)
PACKAGE_CONTENT_TYPES = frozenset({"video/mp4", "audio/mp4"})


def segment_name(index: int) -> str:
    """The public name of media segment ``index`` (0-based), as the playlist lists it."""
    return f"seg-{index:05d}.m4s"


@dataclass(frozen=True, slots=True)
class HlsPart:
    """One stored file of a package: its public name, storage key, size, SHA-256 and duration."""

    name: str
    key: str
    size: int
    sha256: str
    duration: float = 0.0

    def __post_init__(self) -> None:
        if self.name != INIT_NAME and not SEGMENT_NAME.fullmatch(self.name):
            raise InvalidInput(f"not an HLS part name: {self.name!r}")
        if self.size < 0 or len(self.sha256) != 64:
            raise InvalidInput("an HLS part has a size and a SHA-256")
        if not self.duration >= 0 or math.isinf(self.duration):
            raise InvalidInput("an HLS segment lasts a finite, non-negative time")


@dataclass(frozen=True, slots=True)
class HlsPackage:
    """An item's HLS rendition: ``video/mp4`` or ``audio/mp4`` init and media segments."""

    content_type: str
    init: HlsPart
    segments: tuple[HlsPart, ...]

    def __post_init__(self) -> None:
        if self.content_type not in PACKAGE_CONTENT_TYPES:
            raise InvalidInput(f"not an HLS package type: {self.content_type!r}")
        if self.init.name != INIT_NAME or not self.segments:
            raise InvalidInput("an HLS package has an init segment and media segments")
        if [s.name for s in self.segments] != [segment_name(i) for i in range(len(self.segments))]:
            raise InvalidInput("HLS segments are numbered from 0 without gaps")

    @property
    def target_duration(self) -> int:
        """EXT-X-TARGETDURATION: the longest segment, rounded up (RFC 8216 4.3.3.1)."""
        return max(1, *(math.ceil(round(s.duration, 3)) for s in self.segments))

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)

    def part(self, name: str) -> HlsPart | None:
        """The init segment or the media segment called ``name``; None for any other name."""
        if name == INIT_NAME:
            return self.init
        if SEGMENT_NAME.fullmatch(name):
            index = int(name[4:9])
            if index < len(self.segments):
                return self.segments[index]
        return None

    def playlist(self, url: Callable[[str], str]) -> str:
        """The VOD media playlist (RFC 8216), each part's URI made by ``url(name)``."""
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
            "#EXT-X-INDEPENDENT-SEGMENTS",
            f'#EXT-X-MAP:URI="{url(INIT_NAME)}"',
        ]
        for segment in self.segments:
            lines.append(f"#EXTINF:{segment.duration:.6f},")
            lines.append(url(segment.name))
        lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"
