"""/uploads: resumable uploads over tus 1.0.0 (creation, creation-with-upload,
termination, expiration), for admins. OPTIONS is public: it tells what the server speaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, Response, delete, head, patch, post, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import ControllerRouterHandler

from klantroef_core.errors import KlantroefError
from klantroef_core.use_cases.resumable_upload import (
    METADATA_KEYS,
    AppendToUpload,
    CancelUpload,
    CreateUpload,
    UploadStatus,
)
from klantroef_http.dependencies import public_base_url
from klantroef_http.hardening import LingeringClose
from klantroef_http.problems import core_error_handler, http_error_handler, problem_responses
from klantroef_http.security import BEARER, PUBLIC, admin_only, claims_of
from klantroef_http.uploads.openapi import (
    CancelOperation,
    CreateOperation,
    OptionsOperation,
    PatchOperation,
    StatusOperation,
)
from klantroef_http.uploads.tus import (
    EXTENSIONS,
    TUS_VERSION,
    check_offset_body,
    check_version,
    encode_metadata,
    header_integer,
    optional_integer,
    parse_metadata,
    progress_headers,
)


def _with_tus_version(
    handler: Callable[[Request[Any, Any, Any], Exception], Response[bytes]],
) -> Callable[[Request[Any, Any, Any], Exception], Response[bytes]]:
    """The app's problem handler, plus ``Tus-Resumable``: tus answers carry it, errors too."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        response = handler(request, exc)
        response.headers["Tus-Resumable"] = TUS_VERSION
        return response

    return handle


class UploadController(Controller):
    """tus uploads: POST creates, HEAD tells the offset, PATCH appends, DELETE cancels."""

    path = "/uploads"
    tags = ["uploads"]  # noqa: RUF012 - Litestar reads these class attributes
    exception_handlers = {  # noqa: RUF012
        KlantroefError: _with_tus_version(core_error_handler),
        HTTPException: _with_tus_version(http_error_handler),
    }

    @post(
        "/",
        operation_id="createUpload",
        guards=[admin_only],
        security=BEARER,
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,  # the core caps the bytes at Upload-Length
        middleware=[LingeringClose],  # a refusal reaches a client still sending
        operation_class=CreateOperation,
        responses=problem_responses(400, 401, 409, 412, 413, 415, 422, 503),
        summary="Start a resumable upload (tus creation, optionally with its first bytes)",
    )
    async def create(
        self, request: Request[Any, Any, Any], create_upload: NamedDependency[CreateUpload]
    ) -> Response[bytes]:
        headers = request.headers
        check_version(headers)
        length = header_integer(headers, "Upload-Length", "bad_upload_length")
        metadata = parse_metadata(headers.get("upload-metadata"), METADATA_KEYS)
        declared = optional_integer(headers, "Content-Length", "bad_content_length")
        with_body = bool(declared) or "transfer-encoding" in headers
        if with_body:
            check_offset_body(headers)
        progress = await create_upload(
            length,
            metadata,
            claims_of(request).subject,
            request.stream() if with_body else None,
            declared,
        )
        out = progress_headers(progress)
        out["Location"] = f"{public_base_url(request)}/uploads/{progress.session.id}"
        return Response(b"", status_code=HTTP_201_CREATED, headers=out, media_type="text/plain")

    @head(
        "/{upload_id:str}",
        operation_id="headUpload",
        guards=[admin_only],
        security=BEARER,
        operation_class=StatusOperation,
        responses=problem_responses(400, 401, 404, 410, 412, 503),
        summary="Where an upload stands: its offset, length and metadata",
    )
    async def status(
        self,
        request: Request[Any, Any, Any],
        upload_status: NamedDependency[UploadStatus],
        upload_id: FromPath[str],
    ) -> Response[None]:
        check_version(request.headers)
        progress = await upload_status(upload_id, claims_of(request).subject)
        session = progress.session
        out = progress_headers(progress)
        out["Upload-Length"] = str(session.length)
        metadata = encode_metadata(
            {
                "filename": session.filename,
                "title": session.title,
                "type": session.type.value if session.type else None,
            }
        )
        if metadata:
            out["Upload-Metadata"] = metadata
        return Response(None, headers=out, media_type="text/plain")

    @patch(
        "/{upload_id:str}",
        operation_id="patchUpload",
        guards=[admin_only],
        security=BEARER,
        status_code=HTTP_204_NO_CONTENT,
        request_max_body_size=None,  # the core caps the bytes at Upload-Length
        middleware=[LingeringClose],  # and the connection stays usable after it
        operation_class=PatchOperation,
        responses=problem_responses(400, 401, 404, 409, 410, 412, 413, 415, 422, 503),
        summary="Append bytes at the upload's offset; the last byte makes the media item",
    )
    async def append(
        self,
        request: Request[Any, Any, Any],
        append_to_upload: NamedDependency[AppendToUpload],
        upload_id: FromPath[str],
    ) -> Response[None]:
        headers = request.headers
        check_version(headers)
        check_offset_body(headers)
        offset = header_integer(headers, "Upload-Offset", "bad_upload_offset")
        declared = optional_integer(headers, "Content-Length", "bad_content_length")
        progress = await append_to_upload(
            upload_id, offset, request.stream(), claims_of(request).subject, declared
        )
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers=progress_headers(progress))

    @delete(
        "/{upload_id:str}",
        operation_id="deleteUpload",
        guards=[admin_only],
        security=BEARER,
        status_code=HTTP_204_NO_CONTENT,
        operation_class=CancelOperation,
        responses=problem_responses(400, 401, 404, 410, 412, 503),
        summary="Cancel an upload and remove its bytes (tus termination)",
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        cancel_upload: NamedDependency[CancelUpload],
        upload_id: FromPath[str],
    ) -> Response[None]:
        check_version(request.headers)
        await cancel_upload(upload_id, claims_of(request).subject)
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, headers={"Tus-Resumable": TUS_VERSION}
        )

    @route(
        "/",
        http_method=[HttpMethod.OPTIONS],
        opt=PUBLIC,
        operation_id="uploadOptions",
        operation_class=OptionsOperation,
        status_code=HTTP_204_NO_CONTENT,
        summary="What this server speaks of tus: version, extensions and the size limit",
    )
    # Litestar registers a controller's handlers in name order, and the first handler
    # of a path brings an automatic OPTIONS that later ones cannot replace: so each
    # OPTIONS handler's name sorts before the other handlers of its path.
    async def capabilities(self, create_upload: NamedDependency[CreateUpload]) -> Response[None]:
        return _capabilities(create_upload.max_bytes, "OPTIONS, POST")

    @route(
        "/{upload_id:str}",
        http_method=[HttpMethod.OPTIONS],
        opt=PUBLIC,
        operation_id="uploadUrlOptions",
        operation_class=OptionsOperation,
        responses=problem_responses(400),
        status_code=HTTP_204_NO_CONTENT,
        summary="The same tus capabilities, asked at an upload's URL",
    )
    async def about_an_upload(
        self, create_upload: NamedDependency[CreateUpload], upload_id: FromPath[str]
    ) -> Response[None]:
        del upload_id  # the answer is the server's, whatever the upload
        return _capabilities(create_upload.max_bytes, "DELETE, HEAD, OPTIONS, PATCH")


def _capabilities(max_bytes: int, allow: str) -> Response[None]:
    return Response(
        None,
        status_code=HTTP_204_NO_CONTENT,
        headers={
            "Allow": allow,
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(max_bytes),
        },
    )


upload_routes: list[ControllerRouterHandler] = [UploadController]
