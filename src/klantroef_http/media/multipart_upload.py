"""A multipart/form-data upload read straight from the request stream.

Litestar's own form parsing spools every file before the handler runs; this
reader hands the file part to the upload use case chunk by chunk as it arrives,
so nothing is buffered beyond one network chunk and the use case can refuse the
upload after its first bytes. Text fields are small and capped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from klantroef_core.errors import BadRequest
from klantroef_core.use_cases.media_upload import file_too_large

FILE_FIELD = "file"
MAX_FIELD_BYTES = 4096
MAX_PARTS = 8
MAX_BOUNDARY = 70  # RFC 2046
_MAX_HEADER_SIZE = 1024
_MAX_HEADER_COUNT = 8
MAX_OVERHEAD = MAX_PARTS * (
    _MAX_HEADER_COUNT * (_MAX_HEADER_SIZE + 2) + MAX_FIELD_BYTES + MAX_BOUNDARY + 8
) + (MAX_BOUNDARY + 8)
"""The most bytes a body may carry besides the file: parts' headers, fields and boundaries."""

_Event = Any  # a MultipartSegment, a chunk of its body (bytes), or None at its end


def boundary_of(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` Content-Type; 400 for anything else."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not 0 < len(boundary) <= MAX_BOUNDARY:
        raise BadRequest(
            "the upload must be multipart/form-data with a boundary", code="multipart_required"
        )
    return str(boundary)


def refuse_oversized(content_length: str | None, max_file_bytes: int) -> None:
    """413 before reading anything when the announced body cannot hold an allowed file."""
    announced = int(content_length) if content_length and content_length.isdigit() else 0
    if announced > max_file_bytes + MAX_OVERHEAD:
        raise file_too_large(max_file_bytes)


async def _events(body: AsyncIterator[bytes], boundary: str) -> AsyncIterator[_Event]:
    parser = PushMultipartParser(
        boundary,
        max_header_size=_MAX_HEADER_SIZE,
        max_header_count=_MAX_HEADER_COUNT,
        max_segment_count=MAX_PARTS,
    )
    try:
        async for chunk in body:
            for event in parser.parse(chunk):
                yield event
            if parser.closed:
                return
        for event in parser.parse(b""):  # end of input: complains if the body was cut short
            yield event
    except MultipartError as exc:
        raise BadRequest(f"the multipart body is malformed: {exc}", code="bad_multipart") from exc


class MultipartUpload:
    """An :class:`~klantroef_core.use_cases.media_upload.IncomingUpload` over a form body.

    The one file is the part named ``file``; every other part is a text field of
    at most ``MAX_FIELD_BYTES`` UTF-8 bytes, each name at most once.
    """

    def __init__(self, body: AsyncIterator[bytes], boundary: str) -> None:
        self._events = _events(body, boundary)
        self._fields: dict[str, str] = {}
        self._leading: dict[str, str] = {}
        self._filename: str | None = None
        self._file_read = False

    @classmethod
    async def open(cls, body: AsyncIterator[bytes], content_type: str | None) -> MultipartUpload:
        """Read up to the start of the file part; 400 ``file_missing`` if there is none."""
        upload = cls(body, boundary_of(content_type))
        async for event in upload._events:
            if isinstance(event, MultipartSegment):
                if event.name == FILE_FIELD:
                    upload._filename = event.filename
                    upload._leading = dict(upload._fields)
                    return upload
                await upload._read_field(event)
        raise BadRequest("the form has no 'file' part", code="file_missing")

    @property
    def filename(self) -> str | None:
        return self._filename

    @property
    def leading_fields(self) -> Mapping[str, str]:
        return self._leading

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._file_read:
            raise RuntimeError("the file part was read already")
        async for event in self._events:
            if event is None:
                self._file_read = True
                return
            yield event if isinstance(event, bytes) else bytes(event)

    async def all_fields(self) -> Mapping[str, str]:
        if not self._file_read:
            raise RuntimeError("read the file part first")
        async for event in self._events:
            if isinstance(event, MultipartSegment):
                if event.name == FILE_FIELD:
                    raise BadRequest("send one file only", code="one_file_only")
                await self._read_field(event)
        return dict(self._fields)

    async def _read_field(self, segment: MultipartSegment) -> None:
        name = segment.name or ""
        if segment.filename is not None:
            raise BadRequest(
                f"only the '{FILE_FIELD}' part may carry a file, not {name!r}",
                code="unexpected_file",
            )
        if name in self._fields:
            raise BadRequest(f"the field {name!r} is given twice", code="duplicate_field")
        value = bytearray()
        async for event in self._events:
            if event is None:
                break
            value += event
            if len(value) > MAX_FIELD_BYTES:
                raise BadRequest(
                    f"the field {name!r} is longer than {MAX_FIELD_BYTES} bytes",
                    code="field_too_large",
                )
        try:
            self._fields[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"the field {name!r} is not UTF-8", code="bad_field") from None
