"""/media: uploads, the catalogue, stream links and the stream itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, delete, get, post, route
from litestar.di import NamedDependency, Provide
from litestar.enums import HttpMethod
from litestar.params import FromPath, FromQuery
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from klantroef_core.use_cases.media_catalogue import DEFAULT_PAGE_SIZE
from klantroef_http.deps import Session, config_of, provide_session, services_of
from klantroef_http.media_schemas import MediaOut, MediaPageOut, StreamUrlOut
from klantroef_http.multipart_upload import MultipartUpload, refuse_oversized
from klantroef_http.openapi_upload import UploadOperation
from klantroef_http.streaming import MediaResponse, plan_stream

ADMIN_ONLY = {"session": Provide(provide_session)}


@post(
    "/media",
    status_code=HTTP_201_CREATED,
    dependencies=ADMIN_ONLY,
    request_max_body_size=None,  # the use case caps the file while it streams
    operation_class=UploadOperation,
    summary="Upload an audio or video file (multipart: file, title, type)",
    tags=["media"],
)
async def upload_media(
    request: Request[Any, Any, Any], session: NamedDependency[Session]
) -> Response[MediaOut]:
    upload = services_of(request).upload_media()
    refuse_oversized(request.headers.get("content-length"), upload.max_bytes)
    incoming = await MultipartUpload.open(request.stream(), request.headers.get("content-type"))
    media = await upload(incoming, session.admin_id)
    return Response(
        MediaOut.of(media), status_code=HTTP_201_CREATED, headers={"location": f"/media/{media.id}"}
    )


@get(
    "/media",
    dependencies=ADMIN_ONLY,
    summary="The catalogue, newest first, a page at a time",
    tags=["media"],
)
async def list_media(
    request: Request[Any, Any, Any],
    session: NamedDependency[Session],
    limit: FromQuery[int] = DEFAULT_PAGE_SIZE,
    cursor: FromQuery[str | None] = None,
) -> MediaPageOut:
    return MediaPageOut.of(await services_of(request).list_media()(limit, cursor))


@get("/media/{media_id:str}", dependencies=ADMIN_ONLY, summary="One media item", tags=["media"])
async def get_media(
    request: Request[Any, Any, Any], session: NamedDependency[Session], media_id: FromPath[str]
) -> MediaOut:
    return MediaOut.of(await services_of(request).get_media()(media_id))


@delete(
    "/media/{media_id:str}",
    status_code=HTTP_204_NO_CONTENT,
    dependencies=ADMIN_ONLY,
    summary="Delete an item: its file, its views, and every link to it",
    tags=["media"],
)
async def delete_media(
    request: Request[Any, Any, Any], session: NamedDependency[Session], media_id: FromPath[str]
) -> None:
    await services_of(request).delete_media()(media_id)


@get(
    "/media/{media_id:str}/stream-url",
    dependencies=ADMIN_ONLY,
    summary="A signed stream link that expires (10 minutes by default)",
    tags=["media"],
)
async def stream_url(
    request: Request[Any, Any, Any], session: NamedDependency[Session], media_id: FromPath[str]
) -> StreamUrlOut:
    issued = await services_of(request).issue_stream_link()(media_id)
    base = config_of(request).public_base_url or str(request.base_url)
    path = f"/media/{quote(media_id, safe='')}/stream?token={quote(issued.token, safe='')}"
    return StreamUrlOut(url=base.rstrip("/") + path, expires_at=issued.expires_at)


@route(
    "/media/{media_id:str}/stream",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    summary="The media's bytes, with Range support, for a stream link's token",
    tags=["media"],
)
async def stream_media(
    request: Request[Any, Any, Any], media_id: FromPath[str], token: FromQuery[str | None] = None
) -> Response[Any]:
    source = await services_of(request).open_stream()(media_id, token)
    plan = plan_stream(source.media, request.method, request.headers)
    if plan.status == 304:
        return Response(None, status_code=plan.status, headers=plan.headers)
    return MediaResponse(source, plan)


media_routes = [upload_media, list_media, get_media, delete_media, stream_url, stream_media]
