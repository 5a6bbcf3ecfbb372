"""Per-request dependencies: the services, the client's address, the signed-in admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from klantroef_core.domain.tokens import AccessClaims
from klantroef_core.errors import Unauthorized
from klantroef_http.services import HttpConfig, Services


@dataclass(frozen=True, slots=True)
class Session:
    """The verified claims of the request's bearer token."""

    claims: AccessClaims

    @property
    def admin_id(self) -> str:
        """The signed-in admin's id (the token's subject)."""
        return self.claims.subject


def services_of(request: Request[Any, Any, Any]) -> Services:
    """The services the app was built with."""
    services: Services = request.app.state["services"]
    return services


def config_of(request: Request[Any, Any, Any]) -> HttpConfig:
    """The HTTP settings the app was built with."""
    config: HttpConfig = request.app.state["config"]
    return config


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address: the peer, or behind trusted proxies, the forwarded one."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getall("x-forwarded-for", [])
    return config_of(request).trusted_proxies.client_ip(peer, forwarded)


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None if there is no header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized(
            "the Authorization header must be 'Bearer <token>'", code="token_malformed"
        )
    return token


async def provide_session(request: Request[Any, Any, Any]) -> Session:
    """The signed-in admin; 401 without a valid token, 503 if revocations cannot be checked."""
    return Session(await services_of(request).authenticate()(bearer_token(request)))


async def provide_optional_session(request: Request[Any, Any, Any]) -> Session | None:
    """The signed-in admin if the request carries a token at all, else None."""
    if request.headers.get("authorization") is None:
        return None
    return await provide_session(request)
