"""/auth: signup, login, logout, me."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from klantroef_http.deps import (
    Session,
    client_ip,
    provide_optional_session,
    provide_session,
    services_of,
)
from klantroef_http.schemas import AdminOut, Credentials, TokenOut


@post(
    "/auth/signup",
    status_code=HTTP_201_CREATED,
    dependencies={"session": Provide(provide_optional_session)},
    summary="Create an admin (open while none exists; then admins only, unless signup is open)",
    tags=["auth"],
)
async def signup(
    request: Request[Any, Any, Any],
    data: JSONBody[Credentials],
    session: NamedDependency[Session | None],
) -> AdminOut:
    admin = await services_of(request).signup()(
        data.email, data.password, session.admin_id if session else None
    )
    return AdminOut.of(admin)


@post(
    "/auth/login",
    status_code=200,
    summary="Trade email and password for a bearer token",
    tags=["auth"],
)
async def login(request: Request[Any, Any, Any], data: JSONBody[Credentials]) -> TokenOut:
    issued = await services_of(request).login()(data.email, data.password, client_ip(request))
    return TokenOut(token=issued.token, expires_at=issued.expires_at)


@post(
    "/auth/logout",
    status_code=HTTP_204_NO_CONTENT,
    dependencies={"session": Provide(provide_session)},
    summary="Revoke the bearer token, at once and everywhere",
    tags=["auth"],
)
async def logout(
    request: Request[Any, Any, Any], session: NamedDependency[Session]
) -> Response[None]:
    await services_of(request).logout()(session.claims)
    return Response(None, status_code=HTTP_204_NO_CONTENT)


@get(
    "/auth/me",
    dependencies={"session": Provide(provide_session)},
    summary="The admin behind the bearer token",
    tags=["auth"],
)
async def me(request: Request[Any, Any, Any], session: NamedDependency[Session]) -> AdminOut:
    return AdminOut.of(await services_of(request).current_admin()(session.claims))


auth_routes = [signup, login, logout, me]
