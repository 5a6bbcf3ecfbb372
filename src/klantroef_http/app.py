"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import ControllerRouterHandler

from klantroef_core.errors import KlantroefError
from klantroef_http.auth_routes import auth_routes
from klantroef_http.health_routes import health_routes
from klantroef_http.media_routes import media_routes
from klantroef_http.problems import core_error_handler, http_error_handler, unexpected_error_handler
from klantroef_http.services import HttpConfig, Services
from klantroef_http.view_routes import view_routes


def create_app(
    services: Services,
    config: HttpConfig | None = None,
    *,
    extra_routes: Sequence[ControllerRouterHandler] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> Litestar:
    """Build the app around ``services`` (the container, or anything shaped like it)."""
    config = config or HttpConfig()
    return Litestar(
        route_handlers=[
            *auth_routes,
            *health_routes,
            # media routes (issue 3)
            *media_routes,
            # view and analytics routes (issue 4)
            *view_routes,
            *extra_routes,
        ],
        exception_handlers={
            KlantroefError: core_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
        openapi_config=OpenAPIConfig(
            title="Klantroef",
            version="0.1.0",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        request_max_body_size=config.max_json_body_bytes,
        state=State({"services": services, "config": config}),
        on_shutdown=list(on_shutdown),
        debug=config.debug,
    )
