"""Media files and multipart bodies for upload tests.

The container headers come from the sniffing tests (real, byte-exact
signatures); a file is such a header padded to any length.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Iterator

from tests.unit.test_media_kinds import MEDIA_SAMPLES, NOT_MEDIA, ftyp

# One sample per container family the issue names, plus a few variants.
UPLOAD_SAMPLES = {
    name: MEDIA_SAMPLES[name]
    for name in (
        "mp4 isom",
        "m4a",
        "mov",
        "mov legacy moov first",
        "webm",
        "matroska",
        "ogg vorbis",
        "ogg theora",
        "mp3 mpeg-1 layer III",
        "mp3 with id3v2",
        "wav",
        "flac",
        "aac adts",
        "avi",
    )
}
REFUSED_SAMPLES = {
    name: NOT_MEDIA[name]
    for name in ("a text file renamed .mp4", "elf executable", "png", "pdf", "empty", "zip")
}
MP4_HEAD = ftyp("isom", "isom", "iso2", "avc1", "mp41")
M4A_HEAD = MEDIA_SAMPLES["m4a"][0]


def media_file(size: int, head: bytes = MP4_HEAD, *, seed: int = 1) -> bytes:
    """``size`` bytes starting with ``head`` (truncated if longer), then seeded noise."""
    if size <= len(head):
        return head[:size]
    return head + random.Random(seed).randbytes(size - len(head))


def multipart_body(
    fields: Iterable[tuple[str, str]] = (),
    file: bytes | None = None,
    *,
    filename: str | None = "movie.mp4",
    after: Iterable[tuple[str, str]] = (),
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """A form body (``fields``, then the file part, then ``after``) and its Content-Type."""
    boundary = boundary or "klantroef-" + secrets.token_hex(12)
    parts = [b"".join(_field(boundary, name, value)) for name, value in fields]
    if file is not None:
        parts.append(b"".join(_file_part(boundary, file, filename)))
    parts += [b"".join(_field(boundary, name, value)) for name, value in after]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _field(boundary: str, name: str, value: str) -> Iterator[bytes]:
    yield f"--{boundary}\r\n".encode()
    yield f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
    yield value.encode()
    yield b"\r\n"


def _file_part(boundary: str, data: bytes, filename: str | None) -> Iterator[bytes]:
    yield f"--{boundary}\r\n".encode()
    disposition = 'form-data; name="file"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    yield f"Content-Disposition: {disposition}\r\n".encode()
    yield b"Content-Type: application/octet-stream\r\n\r\n"
    yield data
    yield b"\r\n"
