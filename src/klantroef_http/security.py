"""Who is asking: the bearer token, checked once per request, and the guard on admin routes.

:class:`BearerAuthentication` is Litestar's authentication middleware: a request
with an ``Authorization`` header is authenticated by the core's
``Authenticate`` use case (401 when the token is bad, 503 when revocations
cannot be checked) and its claims land in ``request.auth``; a request without
one goes on anonymous. :func:`admin_only` guards the routes that need an
admin; handlers that need to know which admin read :func:`claims_of` the request.
Routes marked ``exclude_from_auth`` (login, health, the stream) never look at
the header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.openapi.spec import Reference, SecurityRequirement, SecurityScheme
from litestar.types import ASGIApp

from klantroef_core.domain.tokens import AccessClaims
from klantroef_core.errors import Unauthorized
from klantroef_core.use_cases.auth import Authenticate
from klantroef_core.use_cases.credentials import token_missing

PUBLIC = {"exclude_from_auth": True}
"""Route ``opt`` of the routes that ignore any ``Authorization`` header."""

BEARER_SCHEME = "bearer"
BEARER: list[SecurityRequirement] = [{BEARER_SCHEME: []}]
"""The OpenAPI ``security`` of every route that needs an admin's bearer token."""
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    BEARER_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="An access token from POST /auth/login",
    )
}


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None if there is no header."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized(
            "the Authorization header must be 'Bearer <token>'", code="token_malformed"
        )
    return token


class BearerAuthentication(AbstractAuthenticationMiddleware):
    """Authenticates the bearer token of every request that carries one."""

    def __init__(self, app: ASGIApp, authenticate: Callable[[], Authenticate]) -> None:
        super().__init__(app, exclude=["^/schema"])
        self._authenticate = authenticate

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection.headers.get("authorization"))
        if token is None:
            return AuthenticationResult(user=None, auth=None)
        claims = await self._authenticate()(token)
        return AuthenticationResult(user=claims.subject, auth=claims)


async def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The guard of every admin route: 401 ``token_missing`` unless a valid bearer came.

    ``OPTIONS`` passes: it is Litestar's own answer (``Allow``), which a browser's
    CORS preflight asks for without credentials and which reveals nothing.
    A coroutine on purpose: Litestar runs a plain function guard in a worker thread.
    """
    if connection.scope.get("auth") is None and connection.scope.get("method") != "OPTIONS":
        raise token_missing()


def claims_of(request: Request[Any, Any, Any]) -> AccessClaims:
    """The signed-in admin's claims, as the middleware left them (401 without a bearer)."""
    claims = request.scope.get("auth")
    if not isinstance(claims, AccessClaims):
        raise token_missing()
    return claims


def optional_claims_of(request: Request[Any, Any, Any]) -> AccessClaims | None:
    """The signed-in admin's claims, or None for an anonymous request."""
    claims = request.scope.get("auth")
    return claims if isinstance(claims, AccessClaims) else None
