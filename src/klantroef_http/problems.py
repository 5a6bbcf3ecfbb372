"""RFC 9457 problem details: the one error envelope, built from one table."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import ParameterKwarg
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from klantroef_core import errors
from klantroef_http.rate_limit_headers import rate_limit_headers

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("klantroef.http")

# Core error class -> HTTP status. Subclasses are looked up before their bases.
STATUS_BY_ERROR: dict[type[errors.KlantroefError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RangeNotSatisfiable: 416,
    errors.InvalidInput: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
    errors.KlantroefError: 400,
}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(msgspec.Struct, omit_defaults=True):
    """The problem document every error response carries."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI ``responses`` of the problems an operation can answer with."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_TITLES[status],
            generate_examples=False,
        )
        for status in statuses
    }


def status_for(error: errors.KlantroefError) -> int:
    """The HTTP status of a core error: its nearest class in the table."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def problem_response(
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    extra_errors: list[dict[str, Any]] | None = None,
) -> Response[bytes]:
    """A problem response; ``type`` is a stable URN per code."""
    body = Problem(
        type=f"urn:klantroef:problem:{code}",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        code=code,
        errors=extra_errors,
    )
    return Response(
        msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def core_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Core errors, by the table."""
    assert isinstance(exc, errors.KlantroefError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimited):
        retry_after = max(1, int(exc.retry_after + 0.999))
        headers["Retry-After"] = str(retry_after)
        if exc.limit is not None and exc.window is not None:
            headers.update(
                rate_limit_headers(exc.policy or "default", exc.limit, exc.window, 0, retry_after)
            )
    if isinstance(exc, errors.RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, errors.Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="klantroef"'
    if isinstance(exc, errors.Unavailable):
        logger.warning("service unavailable: %s", exc.detail, exc_info=exc.__cause__)
        headers["Retry-After"] = "5"
    return problem_response(status, exc.code, exc.detail, headers)


def http_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Litestar's own errors (routing, validation, body size) in the same envelope."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else None
        if extra is not None:
            extra = _as_sent(request, extra)
        return problem_response(400, "validation_failed", _validation_detail(exc), None, extra)
    code = {
        400: "bad_request",
        401: "unauthorized",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        412: "precondition_failed",
        415: "unsupported_media_type",
    }.get(status, "http_error")
    headers = dict(exc.headers or {})
    return problem_response(status, code, str(exc.detail), headers)


def _as_sent(request: Request[Any, Any, Any], errors: list[Any]) -> list[Any]:
    """Validation errors keyed by the names the client sent (``from``), not our parameters'."""
    parameters = request.route_handler.parsed_fn_signature.parameters

    def sent_name(key: object) -> object:
        parameter = parameters.get(key) if isinstance(key, str) else None
        kwarg = parameter.kwarg_definition if parameter else None
        return (kwarg.name if isinstance(kwarg, ParameterKwarg) else None) or key

    return [
        {**error, "key": sent_name(error.get("key"))} if isinstance(error, dict) else error
        for error in errors
    ]


def _validation_detail(exc: ValidationException) -> str:
    detail = str(exc.detail)
    return detail if detail and detail != "Bad Request" else "the request body is not valid"


def unexpected_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Anything else is our bug: log it, reveal nothing."""
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "an unexpected error occurred"
    )
