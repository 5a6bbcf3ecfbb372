"""HLS for players: the signed playlist and the parts it lists (rules in the core's use cases).

Every URL in the playlist is relative (``init.mp4?token=...``), so it resolves
under whatever base the player reached the playlist by, and carries the link's
own token: the link's expiry ends the whole playback.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.params import FromPath, FromQuery, PathParameter

from klantroef_core.domain.hls import PLAYLIST_CONTENT_TYPE
from klantroef_core.use_cases.hls import OpenHlsPlaylist, OpenHlsSegment
from klantroef_http.hardening import TOKEN_HEADERS
from klantroef_http.media.openapi import HlsPlaylistOperation, HlsSegmentOperation
from klantroef_http.media.streaming import plan_stream, stream_response
from klantroef_http.security import PUBLIC


@get(
    "/media/{media_id:str}/hls/index.m3u8",
    opt=PUBLIC,
    operation_id="getHlsPlaylist",
    operation_class=HlsPlaylistOperation,
    summary="An HLS playlist of the item (H.264/AAC, no transcoding) for a stream link's token",
    tags=["media"],
)
async def hls_playlist(
    open_hls_playlist: NamedDependency[OpenHlsPlaylist],
    media_id: FromPath[str],
    token: FromQuery[str | None] = None,
) -> Response[str]:
    opened = await open_hls_playlist(media_id, token)
    query = f"?token={quote(token or '', safe='')}"
    return Response(
        opened.package.playlist(lambda name: name + query),
        media_type=PLAYLIST_CONTENT_TYPE,
        headers=TOKEN_HEADERS,
    )


@route(
    "/media/{media_id:str}/hls/{name:str}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    opt=PUBLIC,
    operation_id=lambda _handler, method, _path: f"{method.lower()}HlsPart",
    operation_class=HlsSegmentOperation,
    summary="One part of the item's HLS package (init.mp4 or seg-NNNNN.m4s), with Range support",
    tags=["media"],
)
async def hls_part(
    request: Request[Any, Any, Any],
    open_hls_segment: NamedDependency[OpenHlsSegment],
    media_id: FromPath[str],
    name: Annotated[
        str,
        PathParameter(
            max_length=64, description="`init.mp4` or `seg-NNNNN.m4s`, as the playlist lists them"
        ),
    ],
    token: FromQuery[str | None] = None,
) -> Response[Any]:
    source = await open_hls_segment(media_id, name, token)
    plan = plan_stream(source.media, request.method, request.headers)
    return await stream_response(source, plan, request)
