"""The tus routes' headers, said in their OpenAPI operations.

tus carries everything in headers, which Litestar cannot infer from handlers
that read them themselves: each operation names the headers it reads and the
ones its success answers with.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from klantroef_http.uploads.tus import (
    MAX_INTEGER,
    MAX_METADATA_HEADER,
    METADATA_PATTERN,
    OFFSET_CONTENT_TYPE,
    TUS_VERSION,
)

_INTEGER = Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=MAX_INTEGER)
_Headers = dict[str, OpenAPIHeader | Reference]


def _text(description: str) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), description=description)


def _number(description: str) -> OpenAPIHeader:
    return OpenAPIHeader(schema=_INTEGER, description=description)


_TUS_RESUMABLE = Parameter(
    name="Tus-Resumable",
    param_in="header",
    required=True,
    schema=Schema(type=OpenAPIType.STRING, enum=[TUS_VERSION]),
    description="The tus version the client speaks: missing is 400, anything but 1.0.0 is 412.",
)
_METADATA = Parameter(
    name="Upload-Metadata",
    param_in="header",
    required=False,
    schema=Schema(
        type=OpenAPIType.STRING, max_length=MAX_METADATA_HEADER, pattern=METADATA_PATTERN
    ),
    description=(
        "`key base64(value)` pairs, comma-separated: `filename` (up to 255 characters), "
        "`title` (as for POST /media) and `type` (`video` or `audio`); others are ignored."
    ),
)
_LENGTH = Parameter(
    name="Upload-Length",
    param_in="header",
    required=True,
    schema=_INTEGER,
    description="The file's size in bytes; over the size limit is 413.",
)
_OFFSET = Parameter(
    name="Upload-Offset",
    param_in="header",
    required=True,
    schema=_INTEGER,
    description="Where these bytes start: must be the upload's offset (409 otherwise).",
)
_BYTES = RequestBody(
    content={
        OFFSET_CONTENT_TYPE: OpenAPIMediaType(
            schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        )
    },
    required=True,
    description="The next bytes of the file; any other content type is 415.",
)
_PROGRESS: _Headers = {
    "Tus-Resumable": _text("`1.0.0`."),
    "Upload-Offset": _number("How many bytes the server holds durably."),
    "Upload-Expires": _text(
        "When an incomplete upload is removed (an HTTP date); absent once complete."
    ),
    "Content-Location": _text("Once complete: the new media item (`/media/{id}`)."),
}


def _success(operation: Operation, status: str, description: str, headers: _Headers) -> None:
    responses = dict(operation.responses or {})
    responses[status] = OpenAPIResponse(description=description, headers=headers)
    operation.responses = responses


def _with(operation: Operation, *parameters: Parameter) -> None:
    operation.parameters = [*(operation.parameters or []), *parameters]


@dataclass
class CreateOperation(Operation):
    """POST /uploads: tus creation (and creation-with-upload)."""

    def __post_init__(self) -> None:
        _with(self, _TUS_RESUMABLE, _LENGTH, _METADATA)
        self.request_body = RequestBody(
            content=dict(_BYTES.content),
            required=False,
            description="Optionally the first bytes (creation-with-upload).",
        )
        _success(
            self,
            "201",
            "The upload is created; Location is its URL",
            {**_PROGRESS, "Location": _text("The upload's URL (`/uploads/{id}`).")},
        )


@dataclass
class StatusOperation(Operation):
    """HEAD /uploads/{id}: the offset to resume from."""

    def __post_init__(self) -> None:
        _with(self, _TUS_RESUMABLE)
        _success(
            self,
            "200",
            "Where the upload stands",
            {
                **_PROGRESS,
                "Upload-Length": _number("The file's size in bytes."),
                "Upload-Metadata": _text("The metadata the upload was created with."),
                "Cache-Control": _text("`no-store`."),
            },
        )


@dataclass
class PatchOperation(Operation):
    """PATCH /uploads/{id}: the next bytes."""

    def __post_init__(self) -> None:
        _with(self, _TUS_RESUMABLE, _OFFSET)
        self.request_body = _BYTES
        _success(self, "204", "The bytes are stored durably", dict(_PROGRESS))


@dataclass
class CancelOperation(Operation):
    """DELETE /uploads/{id}: tus termination."""

    def __post_init__(self) -> None:
        _with(self, _TUS_RESUMABLE)
        _success(
            self, "204", "The upload and its bytes are gone", {"Tus-Resumable": _text("`1.0.0`.")}
        )


@dataclass
class OptionsOperation(Operation):
    """OPTIONS /uploads: what the server supports."""

    def __post_init__(self) -> None:
        _success(
            self,
            "204",
            "The tus capabilities",
            {
                "Allow": _text("The methods of this URL."),
                "Tus-Resumable": _text("`1.0.0`."),
                "Tus-Version": _text("`1.0.0`: the versions supported."),
                "Tus-Extension": _text("`creation,creation-with-upload,termination,expiration`."),
                "Tus-Max-Size": _number("The largest Upload-Length accepted, in bytes."),
            },
        )
