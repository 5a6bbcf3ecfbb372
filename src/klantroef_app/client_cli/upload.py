"""A file sent as ``multipart/form-data`` straight from disk, a chunk at a time, with progress.

The body is built by hand rather than by httpx's form encoder so that its
length is known up front (the server refuses an oversized file before reading
it) and every chunk read moves the progress bar. Nothing beyond one chunk is
held in memory.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import BinaryIO

from klantroef_app.client_cli.config import ClientError

CHUNK_BYTES = 256 * 1024


def _quoted(value: str) -> str:
    """A form field's name or file name, escaped as browsers do (WHATWG)."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartFile:
    """The body of one upload: an optional title field, then the file part."""

    def __init__(self, handle: BinaryIO, filename: str, title: str | None) -> None:
        self._handle = handle
        self.size = os.fstat(handle.fileno()).st_size
        self.boundary = f"klantroef-{secrets.token_hex(16)}"
        head = ""
        if title is not None:
            head += (
                f"--{self.boundary}\r\n"
                'Content-Disposition: form-data; name="title"\r\n\r\n'
                f"{title}\r\n"
            )
        head += (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{_quoted(filename)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        self._head = head.encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int:
        return len(self._head) + self.size + len(self._tail)

    def chunks(self, sent: Callable[[int], None]) -> Iterator[bytes]:
        """The body; ``sent`` is told how many file bytes each chunk carried."""
        yield self._head
        self._handle.seek(0)
        left = self.size
        while left:
            chunk = self._handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                raise ClientError("the file became shorter while it was being sent")
            left -= len(chunk)
            yield chunk
            sent(len(chunk))
        yield self._tail
