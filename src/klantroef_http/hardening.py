"""What every response and request gets, whatever route answers.

- JSON nested too deeply for the decoder is a 400 problem, not a crash.
- Every response says ``X-Content-Type-Options: nosniff`` and names the server
  ``klantroef`` (no software or version: granian would name itself otherwise);
  an HTML response that sets no ``Content-Security-Policy`` of its own gets one
  that lets it load nothing. A response that carries a token (login, stream
  links, the play page) says ``Cache-Control: no-store`` and
  ``Referrer-Policy: no-referrer`` through its route (:data:`TOKEN_HEADERS`).
- CORS: what a player on another site must read (the stream, HLS playlists and
  segments, the view it logs)
  answers any origin (``*``, no credentials: the link's token is the
  credential); the admin API answers only the origins configured
  (``KLANTROEF_CORS_ORIGINS``), and none by default. Preflights are Litestar's
  own ``OPTIONS`` answers (204 with ``Allow``), given the CORS headers here.
- An upload refused before its body is read (415, 413, 400) still reaches a
  client that sends the whole body before reading: :class:`LingeringClose`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from klantroef_core.errors import BadRequest

NOSNIFF = (b"x-content-type-options", b"nosniff")
SERVER = (b"server", b"klantroef")
LINGER_BYTES = 64 * 1024 * 1024
LINGER_SECONDS = 10.0
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
PUBLIC_ROUTES = re.compile(r"/media/[^/]+/(stream|view|hls/[^/]+)")
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
        if cors_origins or (
            path.startswith("/media/") and (path.endswith(("/stream", "/view")) or "/hls/" in path)
        ):
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
        rule = VIEW_CORS if public.group(1) == "view" else STREAM_CORS  # HLS: as the stream
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


class LingeringClose:
    """ASGI middleware: once the answer is out, read and drop what is left of the body.

    An upload is refused as soon as its first bytes say so (not media, too large),
    without waiting for the rest. A client that sends its whole body before reading
    (most do) is still sending then; closing the connection with its bytes unread
    makes the kernel reset it, and the client sees a broken connection instead of
    the 4xx. granian also kept such connections alive without saying
    ``Connection: close``, then dropped them, so the client's next request on it
    failed. Reading the rest, at most ``LINGER_BYTES`` for ``LINGER_SECONDS`` (and
    not at all when the declared length is beyond that), lets the answer arrive and
    the connection be reused: nginx's lingering close, for the routes that take
    large bodies.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body_read = answered = False

        async def reading() -> ReceiveMessage:
            nonlocal body_read
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True

        await self.app(scope, reading, sending)
        if answered and not body_read and _declared_length(scope) <= LINGER_BYTES:
            await _drain(receive)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else LINGER_BYTES + 1
    return 0  # chunked: as much as arrives within the bounds


async def _drain(receive: Receive) -> None:
    dropped = 0
    try:
        async with asyncio.timeout(LINGER_SECONDS):
            while dropped <= LINGER_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
    except TimeoutError:
        return
