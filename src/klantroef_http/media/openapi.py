"""The OpenAPI description of the upload body, which Litestar cannot infer.

The upload route reads its multipart body itself (no ``data`` parameter), so
its operation says what the body holds explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)

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
            max_length=200,
            description="Default: the file name without its extension.",
        ),
        "type": Schema(
            type=OpenAPIType.STRING,
            enum=["video", "audio"],
            description="Default: from the content; when given it must agree with it.",
        ),
    },
)


@dataclass
class UploadOperation(Operation):
    """An operation whose request body is the upload form."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"multipart/form-data": OpenAPIMediaType(schema=UPLOAD_FORM)},
            required=True,
        )
