"""Answering GET on a poster: 200 with the picture, or 304 while the client's copy is current.

A poster is small and whole: no ranges. It goes out like a stream's whole file
(pathsend where the server offers it and the store keeps files, else chunks),
with the stream's validators and caching: its own hash as the ETag, the item's
upload time as Last-Modified.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime
from typing import Any

from litestar import Request, Response

from klantroef_core.use_cases.media_streaming import PosterImage
from klantroef_http.media.ranges import ByteRange, etag_matches_if_none_match
from klantroef_http.media.streaming import PATHSEND, MediaResponse, StreamPlan


def poster_headers(image: PosterImage) -> dict[str, str]:
    """The validators and caching every answer about a poster carries (200 and 304)."""
    return {
        "etag": image.poster.etag,
        "last-modified": format_datetime(image.media.created_at.astimezone(UTC), usegmt=True),
        "cache-control": "private, max-age=0, must-revalidate",
    }


async def poster_response(image: PosterImage, request: Request[Any, Any, Any]) -> Response[Any]:
    """304 when If-None-Match names the poster's ETag, else the picture (200).

    The bytes are found first either way, so a lost poster is a 404 problem.
    """
    headers = poster_headers(image)
    path = image.local_path()
    if etag_matches_if_none_match(request.headers.get("if-none-match"), image.poster.etag):
        if path is None:
            await (await image.open()).aclose()
        return Response(None, status_code=304, headers=headers)
    headers["content-type"] = image.poster.content_type
    headers["content-length"] = str(image.poster.size_bytes)
    plan = StreamPlan(200, headers, ByteRange(0, image.poster.size_bytes - 1))
    if path is not None and PATHSEND in (request.scope.get("extensions") or {}):
        return MediaResponse(plan, path=path)
    return MediaResponse(plan, chunks=await image.open())
