"""/auth: signup, login, logout, me."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from klantroef_core.use_cases.auth import CurrentAdmin, Login, Logout, Signup
from klantroef_http.auth.schemas import AdminOut, Credentials, LoginCredentials, TokenOut
from klantroef_http.dependencies import client_ip
from klantroef_http.hardening import TOKEN_HEADERS
from klantroef_http.problems import problem_responses
from klantroef_http.security import BEARER, PUBLIC, admin_only, claims_of, optional_claims_of


class AuthController(Controller):
    """Admin accounts and their bearer tokens."""

    path = "/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar reads these class attributes

    @post(
        "/signup",
        operation_id="signup",
        status_code=HTTP_201_CREATED,
        security=[{}, *BEARER],  # anonymous for the first admin, else an admin's token
        responses=problem_responses(400, 401, 403, 409, 413, 422, 503),
        summary="Create an admin (open while none exists; then admins only, unless signup is open)",
    )
    async def signup(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Credentials],
        signup: NamedDependency[Signup],
    ) -> AdminOut:
        admin = optional_claims_of(request)
        actor = admin.subject if admin else None
        return AdminOut.of(await signup(data.email, data.password, actor))

    @post(
        "/login",
        operation_id="login",
        status_code=200,
        opt=PUBLIC,
        responses=problem_responses(400, 401, 413, 429, 503),
        response_headers=TOKEN_HEADERS,
        summary="Trade email and password for a bearer token",
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginCredentials],
        login: NamedDependency[Login],
    ) -> TokenOut:
        issued = await login(data.email, data.password, client_ip(request))
        return TokenOut(token=issued.token, expires_at=issued.expires_at)

    @post(
        "/logout",
        operation_id="logout",
        status_code=HTTP_204_NO_CONTENT,
        guards=[admin_only],
        security=BEARER,
        responses=problem_responses(401, 503),
        summary="Revoke the bearer token, at once and everywhere",
    )
    async def logout(
        self, request: Request[Any, Any, Any], logout: NamedDependency[Logout]
    ) -> None:
        await logout(claims_of(request))

    @get(
        "/me",
        operation_id="getMe",
        guards=[admin_only],
        security=BEARER,
        responses=problem_responses(401, 503),
        summary="The admin behind the bearer token",
    )
    async def me(
        self, request: Request[Any, Any, Any], current_admin: NamedDependency[CurrentAdmin]
    ) -> AdminOut:
        return AdminOut.of(await current_admin(claims_of(request)))
