"""What every response and request gets, whatever route answers.

- JSON nested too deeply for the decoder is a 400 problem, not a crash.
- Every response says ``X-Content-Type-Options: nosniff`` and names the server
  ``klantroef`` (no software or version: granian would name itself otherwise);
  an HTML response that sets no ``Content-Security-Policy`` of its own gets one
  that lets it load nothing. A response that carries a token (login, stream
  links, the play page) says ``Cache-Control: no-store`` and
  ``Referrer-Policy: no-referrer`` through its route (:data:`TOKEN_HEADERS`).
- CORS: what a player on another site must read (the stream, the view it logs)
  answers any origin (``*``, no credentials: the link's token is the
  credential); the admin API answers only the origins configured
  (``KLANTROEF_CORS_ORIGINS``), and none by default. Preflights are Litestar's
  own ``OPTIONS`` answers (204 with ``Allow``), given the CORS headers here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

from klantroef_core.errors import BadRequest

NOSNIFF = (b"x-content-type-options", b"nosniff")
SERVER = (b"server", b"klantroef")
TOKEN_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
"""The headers of a response whose body or URL carries a token."""
NOTHING_TO_LOAD = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
"""The Content-Security-Policy of an HTML response that sets none itself: it may load nothing."""
_LOAD_NOTHING = (b"content-security-policy", NOTHING_TO_LOAD.encode())
PREFLIGHT_MAX_AGE = b"600"


@dataclass(frozen=True, slots=True)
class PublicCors:
    """CORS of a route other sites' players use with a link's token: any origin may read it."""

    methods: bytes
    request_headers: bytes
    exposed: bytes

    @property
    def simple(self) -> list[tuple[bytes, bytes]]:
        """The headers of an answer that is no preflight."""
        return [
            (b"access-control-allow-origin", b"*"),
            (b"access-control-expose-headers", self.exposed),
        ]


STREAM_CORS = PublicCors(
    methods=b"GET, HEAD, OPTIONS",
    request_headers=b"Range, If-Range, If-None-Match, If-Modified-Since",
    exposed=b"Content-Range, Accept-Ranges, Content-Length, ETag, Content-Disposition",
)
VIEW_CORS = PublicCors(
    methods=b"POST, OPTIONS",
    request_headers=b"",  # ?token= in the URL: a simple request, nothing to allow
    exposed=b"RateLimit, RateLimit-Policy, Retry-After",
)
PUBLIC_ROUTES = re.compile(r"/media/[^/]+/(stream|view)")
ADMIN_REQUEST_HEADERS = (
    b"Authorization, Content-Type"
    # tus (/uploads), so a console's tus client (Uppy, tus-js-client) can upload
    b", Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata"
)
ADMIN_EXPOSED = (
    b"Location, RateLimit, RateLimit-Policy, Retry-After"
    b", Content-Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size"
    b", Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires"
)


class KlantroefRequest(Request[Any, Any, Any]):
    """Litestar's request, with a JSON body too deep to decode answered as a client error."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise BadRequest("the JSON body is nested too deeply", code="json_too_deep") from None


def allowed_methods(app: Litestar) -> dict[str, bytes]:
    """Each route's path template and the ``Allow`` of its ``OPTIONS`` answer.

    Litestar's own ``OPTIONS`` handler lists the methods of the first handler
    registered on a path, not of all (``/media``: ``GET`` without ``POST``),
    which misleads a preflight and contradicts the OpenAPI document.
    """
    return {
        route.path_format: ", ".join(sorted(route.methods)).encode()
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }


def security_headers(
    cors_origins: frozenset[str] = frozenset(),
    allowed: Mapping[str, bytes] | None = None,
) -> Callable[[Message, Scope], Awaitable[None]]:
    """The ``before_send`` hook adding the headers above to every response's start.

    ``cors_origins``: the origins (lowercase) whose pages may call the admin API;
    ``allowed``: :func:`allowed_methods`, to set the ``Allow`` of ``OPTIONS`` answers right.
    A coroutine on purpose: Litestar runs a plain function hook in a worker thread,
    which cost a thread hop for every message of every response.
    """

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or ())
        if allowed and scope.get("method") == "OPTIONS":
            allow = allowed.get(scope.get("path_template") or "")
            if allow is not None:
                headers = [(n, v) for n, v in headers if n.lower() != b"allow"]
                headers.append((b"allow", allow))
        own_nosniff = own_server = own_policy = html = False
        for name, value in headers:  # one pass: this runs for every response
            lowered = name.lower()
            if lowered == b"content-type":
                html = value[:9].lower() == b"text/html"
            elif lowered == b"server":
                own_server = True
            elif lowered == b"x-content-type-options":
                own_nosniff = True
            elif lowered == b"content-security-policy":
                own_policy = True
        if not own_nosniff:
            headers.append(NOSNIFF)
        if not own_server:
            headers.append(SERVER)
        if html and not own_policy:
            headers.append(_LOAD_NOTHING)
        path = scope["path"]
        if cors_origins or (path.startswith("/media/") and path.endswith(("/stream", "/view"))):
            headers.extend(_cors(scope, headers, cors_origins))
        message["headers"] = headers

    return add_security_headers


def _header(headers: Any, wanted: bytes) -> bytes | None:
    for name, value in headers:
        if name.lower() == wanted:
            return bytes(value)
    return None


def _cors(
    scope: Scope, response: list[tuple[bytes, bytes]], admin_origins: frozenset[str]
) -> list[tuple[bytes, bytes]]:
    """The CORS headers of this response: ``*`` on public routes, the configured origins elsewhere."""
    public = PUBLIC_ROUTES.fullmatch(scope["path"])
    if public is None and not admin_origins:
        return []
    origin = asked_method = None
    for name, value in scope["headers"]:  # ASGI header names are lowercase
        if name == b"origin":
            origin = bytes(value)
        elif name == b"access-control-request-method":
            asked_method = value
    preflight = scope.get("method") == "OPTIONS" and origin is not None and asked_method is not None
    if public is not None:
        rule = STREAM_CORS if public.group(1) == "stream" else VIEW_CORS
        if not preflight:
            return rule.simple
        allowed = origin is not None and origin.decode("latin-1").lower() in admin_origins
        request_headers = rule.request_headers
        if allowed and rule is VIEW_CORS:  # an admin console may log a view with its bearer
            request_headers = b"Authorization"
        headers = [
            (b"access-control-allow-origin", b"*"),
            (b"vary", b"Origin"),  # the allowed headers depend on who asks
            (b"access-control-allow-methods", _header(response, b"allow") or rule.methods),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE),
        ]
        if request_headers:
            headers.append((b"access-control-allow-headers", request_headers))
        return headers
    headers = [(b"vary", b"Origin")]  # the answer depends on who asks: caches must know
    if origin is None or origin.decode("latin-1").lower() not in admin_origins:
        return headers
    headers.append((b"access-control-allow-origin", origin))
    if not preflight:
        return [*headers, (b"access-control-expose-headers", ADMIN_EXPOSED)]
    allow = _header(response, b"allow") or b"GET, HEAD, POST, DELETE, OPTIONS"
    return [
        *headers,
        (b"access-control-allow-methods", allow),
        (b"access-control-allow-headers", ADMIN_REQUEST_HEADERS),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE),
    ]
