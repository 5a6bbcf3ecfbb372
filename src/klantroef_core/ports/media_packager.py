"""Repackaging media for HLS players, without re-encoding."""

from __future__ import annotations

from typing import Protocol

from klantroef_core.domain.hls import HlsPackage
from klantroef_core.domain.media import Media


class MediaPackager(Protocol):
    """Makes, finds and deletes an item's HLS package (stored beside its bytes).

    Promises (checked by ``tests/contract/test_media_packager.py`` on every store):

    - ``package`` answers the item's package, made on the first call and the
      same on every later one; concurrent first calls in one process package
      once. Its parts are stored under keys derived from the item's storage key,
      never from anything a client sent, and read back with ``MediaStorage``.
    - Media whose streams are not H.264 video and/or AAC audio (or that cannot be
      read at all) raises :class:`~klantroef_core.errors.NeedsTranscoding` with the
      reason, on that call and every later one, without re-reading the file.
    - An item whose bytes the store does not have raises
      :class:`~klantroef_core.errors.BlobMissing`, and nothing is stored.
    - ``known`` answers the stored outcome without packaging: the package, a
      ``NeedsTranscoding`` reason (a str), or None when nothing is decided yet.
    - ``delete`` removes every stored part and the outcome; it is idempotent.
    - A store that cannot be used raises :class:`~klantroef_core.errors.Unavailable`;
      packaging that runs past the packager's time bound raises it too.
    """

    async def package(self, media: Media) -> HlsPackage:
        """The item's package, made now if it was not made before."""
        ...

    async def known(self, media: Media) -> HlsPackage | str | None:
        """The stored outcome, without packaging (None: not decided yet)."""
        ...

    async def delete(self, media: Media) -> None:
        """Remove the package's parts and the stored outcome (no error when there are none)."""
        ...
