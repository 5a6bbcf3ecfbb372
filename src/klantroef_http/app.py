"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components
from litestar.types import ControllerRouterHandler

from klantroef_core.errors import KlantroefError
from klantroef_http.auth.routes import AuthController
from klantroef_http.config import HttpConfig
from klantroef_http.dependencies import CONFIG, UseCaseFactories, dependencies
from klantroef_http.docs import SwaggerPage, docs_router
from klantroef_http.hardening import KlantroefRequest, allowed_methods, security_headers
from klantroef_http.health import health_routes
from klantroef_http.media.routes import media_routes
from klantroef_http.metrics import metrics_routes
from klantroef_http.observability import Clients, ObservedRequests
from klantroef_http.problems import core_error_handler, http_error_handler, unexpected_error_handler
from klantroef_http.security import SECURITY_SCHEMES, BearerAuthentication
from klantroef_http.uploads.routes import upload_routes
from klantroef_http.views.routes import view_routes


def create_app(
    use_cases: UseCaseFactories,
    config: HttpConfig | None = None,
    *,
    extra_routes: Sequence[ControllerRouterHandler] = (),
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
) -> Litestar:
    """The app over ``use_cases``: each factory is called once per request that needs it.

    Handlers ask for use cases by name (``signup: Signup``), so the names are the
    contract: ``authenticate`` and ``readiness`` besides one per route's action.
    """
    config = config or HttpConfig()
    allowed: dict[str, bytes] = {}  # filled once the routes exist
    app = Litestar(
        route_handlers=[
            AuthController,
            *health_routes,
            *media_routes,
            *view_routes,
            *metrics_routes,
            *upload_routes,
            *extra_routes,
        ],
        dependencies=dependencies(use_cases),
        state=State({CONFIG: config}),
        middleware=[DefineMiddleware(BearerAuthentication, authenticate=use_cases["authenticate"])],
        exception_handlers={
            KlantroefError: core_error_handler,
            HTTPException: http_error_handler,
            Exception: unexpected_error_handler,
        },
        openapi_config=OpenAPIConfig(
            title="Klantroef",
            version="0.1.0",
            path="/schema",
            render_plugins=[SwaggerPage()],
            openapi_router=docs_router(),
            components=Components(security_schemes=SECURITY_SCHEMES),
        ),
        request_max_body_size=config.max_json_body_bytes,
        request_class=KlantroefRequest,
        before_send=[security_headers(config.cors_origins, allowed)],
        on_shutdown=list(on_shutdown),
        debug=config.debug,
        logging_config=None,  # the composition root configures logging, once per process
    )
    # Around Litestar's own handler rather than in its middleware list: route
    # middleware runs after routing, and would never see a 404 or a 405.
    app.asgi_handler = ObservedRequests(
        app.asgi_handler,
        config.metrics,
        Clients(config.trusted_proxies, config.client_label),
        config.write_access,
    )
    allowed.update(allowed_methods(app))
    return app
