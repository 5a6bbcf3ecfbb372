"""What Litestar cannot infer about the media routes, said in their OpenAPI operations.

The upload route reads its multipart body itself (no ``data`` parameter), so
its operation says what the body holds; the stream answers media bytes with
the statuses and headers of RFC 9110, not JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import (
    Link,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

from klantroef_core.domain.media import MAX_TITLE_LENGTH, TITLE_PATTERN
from klantroef_http.problems import PROBLEM_JSON

UPLOAD_FORM = Schema(
    type=OpenAPIType.OBJECT,
    required=["file"],
    properties={
        "file": Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.BINARY,
            description="The audio or video file; its bytes decide what it is.",
        ),
        "title": Schema(
            type=OpenAPIType.STRING,
            min_length=1,
            max_length=MAX_TITLE_LENGTH,
            pattern=TITLE_PATTERN,
            description="Default: the file name without its extension. No control characters.",
        ),
        "type": Schema(
            type=OpenAPIType.STRING,
            enum=["video", "audio"],
            description="Default: from the content; when given it must agree with it.",
        ),
    },
    additional_properties=False,
)


@dataclass
class UploadOperation(Operation):
    """An operation whose request body is the upload form, and whose 201 leads on by id."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"multipart/form-data": OpenAPIMediaType(schema=UPLOAD_FORM)},
            required=True,
        )
        created = self.responses["201"] if self.responses else None
        if isinstance(created, OpenAPIResponse):
            by_id = {"media_id": "$response.body#/id"}
            created.links = {
                operation: Link(operation_id=operation, parameters=dict(by_id))
                for operation in BY_MEDIA_ID
            }


BY_MEDIA_ID = ("getMedia", "deleteMedia", "getStreamUrl", "recordView", "getAnalytics")
"""The operations a new item's id leads to (OpenAPI links, for clients and stateful fuzzers)."""


@dataclass
class StreamUrlOperation(Operation):
    """The stream-url operation, whose 200 leads to the stream and the view with its token."""

    def __post_init__(self) -> None:
        issued = self.responses["200"] if self.responses else None
        if isinstance(issued, OpenAPIResponse):
            with_link = {"media_id": "$request.path.media_id", "token": "$response.body#/token"}
            issued.links = {
                operation: Link(operation_id=operation, parameters=dict(with_link))
                for operation in (
                    "getStream",
                    "headStream",
                    "playMedia",
                    "recordView",
                    "getHlsPlaylist",
                )
            }


def _text(description: str) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), description=description)


_BYTES = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
_MEDIA_CONTENT = {kind: OpenAPIMediaType(schema=_BYTES) for kind in ("video/*", "audio/*")}
_Headers = dict[str, OpenAPIHeader | Reference]
_REPRESENTATION: _Headers = {
    "Accept-Ranges": _text("Always `bytes`: players may seek with Range requests."),
    "ETag": _text("A strong validator: the content's SHA-256 in quotes."),
    "Last-Modified": _text("When the item was uploaded (an HTTP date)."),
    "Cache-Control": _text("`private, max-age=0, must-revalidate`."),
}
_BODY: _Headers = {
    **_REPRESENTATION,
    "Content-Length": _text("The number of bytes in the body."),
    "Content-Disposition": _text("`inline`, with the title as file name (RFC 6266)."),
}


def _problem(description: str, headers: _Headers | None = None) -> OpenAPIResponse:
    schema = Reference(ref="#/components/schemas/Problem")
    return OpenAPIResponse(
        description=description,
        headers=headers,
        content={PROBLEM_JSON: OpenAPIMediaType(schema=schema)},
    )


STREAM_RESPONSES: dict[str, OpenAPIResponse | Reference] = {
    "200": OpenAPIResponse(
        description="The whole file (a GET without Range, or one If-Range no longer matches)",
        headers=_BODY,
        content=_MEDIA_CONTENT,
    ),
    "206": OpenAPIResponse(
        description="The byte range asked for",
        headers={**_BODY, "Content-Range": _text("`bytes first-last/size`.")},
        content=_MEDIA_CONTENT,
    ),
    "307": OpenAPIResponse(
        description=(
            "Redirect mode (`KLANTROEF_S3_REDIRECT=1`), GET only: the link checked, the bytes "
            "are at a presigned URL of the object store that expires no later than the link; "
            "follow it with the same Range and validators (HEAD is answered here)"
        ),
        headers={
            "Location": _text("The presigned URL; it dies no later than the link's `exp`."),
            "Cache-Control": _text("`no-store`: never reuse the redirect."),
        },
    ),
    "304": OpenAPIResponse(
        description="If-None-Match matched the ETag: the client's copy is current",
        headers=_REPRESENTATION,
    ),
    "403": _problem("The link's token is missing, invalid, expired or for another item"),
    "404": _problem(
        "No media item has this id, or it was deleted (`media_not_found`); or the store "
        "no longer has its bytes (`media_bytes_missing`)"
    ),
    "416": _problem(
        "No byte of the range lies inside the file",
        {"Content-Range": _text("`bytes */size`.")},
    ),
    "503": _problem("A backing service cannot be reached"),
}


@dataclass
class StreamOperation(Operation):
    """The stream's operation: media bytes, not JSON, and every status RFC 9110 allows here."""

    def __post_init__(self) -> None:
        self.responses = dict(STREAM_RESPONSES)


_SEGMENT_CONTENT = {kind: OpenAPIMediaType(schema=_BYTES) for kind in ("video/mp4", "audio/mp4")}
_CORS: _Headers = {
    "Access-Control-Allow-Origin": _text("`*`: any site's player may read it (no credentials)."),
}
_NEEDS_TRANSCODING = _problem(
    "The item's codecs are not H.264/AAC: it cannot be served as HLS without "
    "transcoding, which is not offered (`hls_needs_transcoding`)"
)
HLS_PLAYLIST_RESPONSES: dict[str, OpenAPIResponse | Reference] = {
    "200": OpenAPIResponse(
        description=(
            "A VOD media playlist (RFC 8216): an fMP4 init segment and media segments, each "
            "URL relative and carrying the same token, so the link's expiry ends playback"
        ),
        headers={
            **_CORS,
            "Cache-Control": _text("`no-store`: its URLs carry the token."),
            "Referrer-Policy": _text("`no-referrer`."),
        },
        content={
            "application/vnd.apple.mpegurl": OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING)
            )
        },
    ),
    "403": STREAM_RESPONSES["403"],
    "404": _problem("No media item has this id, or it was deleted (`media_not_found`)"),
    "409": _NEEDS_TRANSCODING,
    "503": _problem("A backing service cannot be reached, or packaging ran out of time"),
}
HLS_SEGMENT_RESPONSES: dict[str, OpenAPIResponse | Reference] = {
    **STREAM_RESPONSES,
    "200": OpenAPIResponse(
        description="The whole segment (the init segment, or a CMAF media segment)",
        headers={**_BODY, **_CORS},
        content=_SEGMENT_CONTENT,
    ),
    "206": OpenAPIResponse(
        description="The byte range of the segment asked for",
        headers={**_BODY, **_CORS, "Content-Range": _text("`bytes first-last/size`.")},
        content=_SEGMENT_CONTENT,
    ),
    "404": _problem(
        "No media item has this id, or it was deleted (`media_not_found`); the package has "
        "no part by this name (`hls_part_not_found`); or its bytes are gone "
        "(`media_bytes_missing`)"
    ),
    "409": _NEEDS_TRANSCODING,
    "400": _problem("The part's name is longer than 64 characters (`validation_failed`)"),
}
del HLS_SEGMENT_RESPONSES["307"]  # segments are always served here


@dataclass
class HlsPlaylistOperation(Operation):
    """The HLS playlist: M3U8 text for a stream link's token."""

    def __post_init__(self) -> None:
        self.responses = dict(HLS_PLAYLIST_RESPONSES)


@dataclass
class HlsSegmentOperation(Operation):
    """An HLS part: fMP4 bytes with the statuses and headers of the stream."""

    def __post_init__(self) -> None:
        self.responses = dict(HLS_SEGMENT_RESPONSES)
