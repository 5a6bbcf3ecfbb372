"""Reading what a stored media file holds, and making its picture."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from klantroef_core.domain.media_info import MediaInfo, Picture
from klantroef_core.ports.media_storage import MediaStorage


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """Where a probe finds a file: its key in a store, and its size in bytes."""

    storage: MediaStorage
    key: str
    size: int


class MediaProbe(Protocol):
    """Reads media files through the store that holds them, bounded in time and memory.

    Promises (each checked by ``klantroef_adapters.testing.MediaProbeContract``):

    - ``probe`` of an audio or video file gives its container, duration (within a
      frame), bit rate, and its main video stream (codec, width, height, frame
      rate) and main audio stream (codec, channels, sample rate), None where absent.
    - ``picture`` of a file with a video stream is a JPEG of a frame from about 10%
      into it, at most ``POSTER_WIDTH`` pixels wide with the frame's display aspect
      kept; of a file with only audio, a PNG of its waveform.
    - Both read the file whether or not the store has a ``local_path`` for it.
    - A file no demuxer opens (a valid header followed by garbage), one without any
      audio or video stream, and one whose frames are absurdly large raise
      :class:`~klantroef_core.errors.UnreadableMedia`; nothing is written anywhere.
    - A file that cannot be read within the probe's time limit, or a probe that is
      closed while it reads, raises :class:`~klantroef_core.errors.Unavailable`:
      the service ran out of time, which says nothing about the file.
    - A key with no blob raises :class:`~klantroef_core.errors.BlobMissing`.
    """

    async def probe(self, source: StoredMedia) -> MediaInfo:
        """What the file holds; UnreadableMedia if it cannot be read as media."""
        ...

    async def picture(self, source: StoredMedia, info: MediaInfo) -> Picture:
        """A JPEG poster of the video in ``source``, or a PNG waveform of its audio."""
        ...
