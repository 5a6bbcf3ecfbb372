"""/media: uploads, the catalogue, stream links and the stream itself."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, delete, get, post, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import (
    HTTP_201_CREATED,
    HTTP_204_NO_CONTENT,
    HTTP_307_TEMPORARY_REDIRECT,
)
from litestar.types import ControllerRouterHandler

from klantroef_core.use_cases.hls import IssuePlaybackLinks
from klantroef_core.use_cases.media_catalogue import (
    DEFAULT_PAGE_SIZE,
    MAX_CURSOR_LENGTH,
    MAX_PAGE_SIZE,
    DeleteMedia,
    GetMedia,
    ListMedia,
)
from klantroef_core.use_cases.media_streaming import OpenStream
from klantroef_core.use_cases.media_upload import UploadMedia
from klantroef_http.dependencies import public_base_url
from klantroef_http.hardening import TOKEN_HEADERS, LingeringClose
from klantroef_http.media.hls_routes import hls_part, hls_playlist
from klantroef_http.media.multipart_upload import MultipartUpload, refuse_oversized
from klantroef_http.media.openapi import StreamOperation, StreamUrlOperation, UploadOperation
from klantroef_http.media.play_page import play_page, player_script
from klantroef_http.media.schemas import MediaOut, MediaPageOut, StreamUrlOut
from klantroef_http.media.streaming import plan_stream, stream_response
from klantroef_http.problems import problem_responses
from klantroef_http.security import BEARER, PUBLIC, admin_only, claims_of


class MediaController(Controller):
    """The catalogue, for admins: upload, list, read, delete, and hand out stream links."""

    path = "/media"
    tags = ["media"]  # noqa: RUF012 - Litestar reads these class attributes
    guards = [admin_only]  # noqa: RUF012
    security = BEARER

    @post(
        "/",
        operation_id="uploadMedia",
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,  # the use case caps the file while it streams
        middleware=[LingeringClose],  # a refusal reaches a client still sending
        operation_class=UploadOperation,
        responses=problem_responses(400, 401, 413, 415, 422, 503),
        summary="Upload an audio or video file (multipart: file, title, type)",
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        upload_media: NamedDependency[UploadMedia],
    ) -> Response[MediaOut]:
        refuse_oversized(request.headers.get("content-length"), upload_media.max_bytes)
        incoming = await MultipartUpload.open(request.stream(), request.headers.get("content-type"))
        media = await upload_media(incoming, claims_of(request).subject)
        return Response(
            MediaOut.of(media),
            status_code=HTTP_201_CREATED,
            headers={"location": f"/media/{media.id}"},
        )

    @get(
        "/",
        operation_id="listMedia",
        responses=problem_responses(400, 401, 422, 503),
        summary="The catalogue, newest first, a page at a time",
    )
    async def list_page(
        self,
        list_media: NamedDependency[ListMedia],
        limit: Annotated[
            int,
            QueryParameter(ge=1, le=MAX_PAGE_SIZE, description="items a page (1 to 100)"),
        ] = DEFAULT_PAGE_SIZE,
        cursor: Annotated[
            str | None,
            QueryParameter(
                max_length=MAX_CURSOR_LENGTH, description="next_cursor of the page before"
            ),
        ] = None,
    ) -> MediaPageOut:
        return MediaPageOut.of(await list_media(limit, cursor))

    @get(
        "/{media_id:str}",
        operation_id="getMedia",
        responses=problem_responses(400, 401, 404, 503),
        summary="One media item",
    )
    async def get_item(
        self, get_media: NamedDependency[GetMedia], media_id: FromPath[str]
    ) -> MediaOut:
        return MediaOut.of(await get_media(media_id))

    @delete(
        "/{media_id:str}",
        operation_id="deleteMedia",
        status_code=HTTP_204_NO_CONTENT,
        responses=problem_responses(400, 401, 404, 503),
        summary="Delete an item: its file, its views, and every link to it",
    )
    async def delete_item(
        self, delete_media: NamedDependency[DeleteMedia], media_id: FromPath[str]
    ) -> None:
        await delete_media(media_id)

    @get(
        "/{media_id:str}/stream-url",
        operation_id="getStreamUrl",
        operation_class=StreamUrlOperation,
        responses=problem_responses(400, 401, 404, 503),
        response_headers=TOKEN_HEADERS,
        summary="A signed stream link that expires (10 minutes by default), and HLS when available",
    )
    async def stream_url(
        self,
        request: Request[Any, Any, Any],
        issue_playback_links: NamedDependency[IssuePlaybackLinks],
        media_id: FromPath[str],
    ) -> StreamUrlOut:
        links = await issue_playback_links(media_id)
        issued = links.issued
        base = f"{public_base_url(request)}/media/{quote(media_id, safe='')}"
        query = f"?token={quote(issued.token, safe='')}"
        return StreamUrlOut(
            url=f"{base}/stream{query}",
            token=issued.token,
            expires_at=issued.expires_at,
            play_url=f"{base}/play{query}",
            hls_url=f"{base}/hls/index.m3u8{query}" if links.hls else msgspec.UNSET,
        )


@route(
    "/media/{media_id:str}/stream",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    opt=PUBLIC,
    operation_id=lambda _handler, method, _path: f"{method.lower()}Stream",
    operation_class=StreamOperation,
    summary="The media's bytes, with Range support, for a stream link's token",
    tags=["media"],
)
async def stream_media(
    request: Request[Any, Any, Any],
    open_stream: NamedDependency[OpenStream],
    media_id: FromPath[str],
    token: FromQuery[str | None] = None,
) -> Response[Any]:
    source = await open_stream(media_id, token)
    if request.method == "GET":  # a presigned URL is good for GET only: HEAD is answered here
        direct = await source.direct_url()
        if direct is not None:
            return Response(
                None,
                status_code=HTTP_307_TEMPORARY_REDIRECT,
                headers={"location": direct, "cache-control": "no-store"},
            )
    plan = plan_stream(source.media, request.method, request.headers)
    return await stream_response(source, plan, request)


media_routes: list[ControllerRouterHandler] = [
    MediaController,
    stream_media,
    play_page,
    player_script,
    hls_playlist,
    hls_part,
]
