"""Answering GET and HEAD on a stream: 200, 206, 304 or 416, with the body read as it is sent.

``plan_stream`` decides status and headers from the request's validators and
Range (pure, so every rule is tested without a server); ``MediaBody`` sends the
bytes. A whole-file GET of a blob on local disk goes out through the ASGI
server's ``http.response.pathsend`` extension where it offers one (granian
does), so the server sends the file itself; anything else is read in chunks
from storage while a second task watches for the client going away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import format_datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import anyio
from litestar import Request, Response
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

from klantroef_core.domain.media import Media
from klantroef_core.errors import RangeNotSatisfiable
from klantroef_core.use_cases.media_streaming import MediaStream, OpenedRange
from klantroef_http.media.ranges import (
    ByteRange,
    Unsatisfiable,
    etag_matches_if_none_match,
    if_range_allows_partial,
    parse_range,
)

PATHSEND = "http.response.pathsend"
_EXTENSIONS = {
    "video/mp4": ".mp4",
    "audio/mp4": ".m4a",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
    "audio/ogg": ".ogg",
    "video/ogg": ".ogv",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/flac": ".flac",
    "audio/aac": ".aac",
    "video/x-msvideo": ".avi",
}
# RFC 5987 attr-char, less ALPHA and DIGIT (which quote never escapes).
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(title: str, content_type: str) -> str:
    """``inline`` with the title as file name: an ASCII fallback and the exact UTF-8 form.

    RFC 6266 section 4.3: ``filename`` for old clients (non-ASCII, quotes,
    backslashes and percent signs replaced), then ``filename*`` (RFC 8187) which
    every current browser prefers.
    """
    extension = _EXTENSIONS.get(content_type, "")
    name = title if title.lower().endswith(extension) else title + extension
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\%' else "_" for ch in name)
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


def representation_headers(media: Media) -> dict[str, str]:
    """The headers every answer about a media item's bytes carries (200, 206, 304)."""
    return {
        "accept-ranges": "bytes",
        "etag": media.etag,
        "last-modified": format_datetime(media.created_at.astimezone(UTC), usegmt=True),
        "cache-control": "private, max-age=0, must-revalidate",
    }


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What to answer: the status, its headers, and the bytes to send (None: no body)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    byte_range: ByteRange | None = None

    @property
    def whole_file(self) -> bool:
        return self.status == 200


def plan_stream(media: Media, method: str, headers: Mapping[str, str]) -> StreamPlan:
    """Status, headers and byte range for a GET or HEAD of ``media`` (RFC 9110).

    If-None-Match first (304); then Range, for GET only and only while If-Range
    allows it (206, or 416 via RangeNotSatisfiable); otherwise the whole file (200).
    """
    base = representation_headers(media)
    if etag_matches_if_none_match(headers.get("if-none-match"), media.etag):
        return StreamPlan(304, base)
    base["content-type"] = media.content_type
    base["content-disposition"] = content_disposition(media.title, media.content_type)
    size = media.size_bytes
    requested = headers.get("range") if method == "GET" else None
    if requested is not None and if_range_allows_partial(
        headers.get("if-range"), media.etag, media.created_at
    ):
        chosen = parse_range(requested, size)
        if isinstance(chosen, Unsatisfiable):
            raise RangeNotSatisfiable("no byte of the range lies inside the file", size=size)
        if chosen is not None:
            base["content-range"] = chosen.content_range(size)
            base["content-length"] = str(chosen.length)
            return StreamPlan(206, base, chosen)
    base["content-length"] = str(size)
    return StreamPlan(200, base, ByteRange(0, size - 1) if size else None)


class MediaBody(ASGIResponse):
    """The ASGI side of a 200 or 206: pathsend for a whole local file, else chunks.

    What it sends was found before it was built (:func:`stream_response`): a file
    checked to exist, or a range already opened, so a missing blob is never
    discovered after the status line went out.
    """

    _should_set_content_length = False

    def __init__(
        self,
        plan: StreamPlan,
        *,
        path: Path | None = None,
        chunks: OpenedRange | None = None,
        is_head_response: bool,
    ) -> None:
        super().__init__(
            headers=plan.headers,
            status_code=plan.status,
            media_type=plan.headers["content-type"],
            is_head_response=is_head_response,
        )
        self._path = path
        self._chunks = chunks
        self._length = int(plan.headers.get("content-length", "0"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # close the file or connection now, also when cancelled, not when collected
            if self._chunks is not None:
                await self._chunks.aclose()

    async def send_body(self, send: Send, receive: Receive) -> None:
        if self._path is not None:
            await send(cast(Any, {"type": PATHSEND, "path": str(self._path)}))
            return
        if self._chunks is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        first = await anext(self._chunks, b"")
        if len(first) >= self._length:  # a short range comes whole: one message, no watcher
            await send({"type": "http.response.body", "body": first, "more_body": False})
            return
        await send({"type": "http.response.body", "body": first, "more_body": True})
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._send_chunks, send, self._chunks, tasks.cancel_scope)
            while (await receive())["type"] != "http.disconnect":
                pass
            tasks.cancel_scope.cancel()

    @staticmethod
    async def _send_chunks(send: Send, chunks: OpenedRange, scope: anyio.CancelScope) -> None:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        scope.cancel()


class MediaResponse(Response[None]):
    """A Litestar response that becomes a :class:`MediaBody` (so Range and HEAD work)."""

    def __init__(
        self, plan: StreamPlan, *, path: Path | None = None, chunks: OpenedRange | None = None
    ) -> None:
        super().__init__(None, status_code=plan.status, headers=plan.headers)
        self._plan = plan
        self._path = path
        self._chunks = chunks

    def to_asgi_response(self, app: Any, request: Request[Any, Any, Any], **_: Any) -> ASGIResponse:
        return MediaBody(
            self._plan,
            path=self._path,
            chunks=self._chunks,
            is_head_response=request.method == "HEAD",
        )


async def stream_response(
    source: MediaStream, plan: StreamPlan, request: Request[Any, Any, Any]
) -> Response[Any]:
    """The answer to ``plan``, once the bytes it needs are known to be there.

    Finding the bytes comes first (404 ``media_bytes_missing`` as a problem,
    before any header): a whole-file GET where the server offers pathsend checks
    the file with one stat and lets the server send it; any other GET opens its
    range and reads the first chunk; HEAD, 304 and an empty file only make sure
    the blob exists.
    """
    byte_range = plan.byte_range
    if plan.status == 304 or request.method == "HEAD" or byte_range is None:
        await source.ensure_bytes()
        if plan.status == 304:
            return Response(None, status_code=plan.status, headers=plan.headers)
        return MediaResponse(plan)
    if plan.whole_file and PATHSEND in (request.scope.get("extensions") or {}):
        path = source.local_path()
        if path is not None:
            return MediaResponse(plan, path=path)
    return MediaResponse(plan, chunks=await source.open(byte_range.start, byte_range.end))
