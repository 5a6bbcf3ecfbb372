"""The OpenAPI pages under ``/schema``: the JSON document, and Swagger UI under a strict CSP.

Swagger UI's files come from a CDN, pinned to one version and checked by
Subresource Integrity (the hashes of the npm package's files, which the CDN
serves unchanged). Litestar's page would run an inline script holding the
whole document; ours loads a small same-origin script that fetches
``/schema/openapi.json`` instead, so the page's policy allows scripts from
exactly three URLs and no inline code. Styles: Swagger UI's stylesheet only
(its components set styles through the DOM, which a policy does not block).
Images: ``data:`` (its icons). Fetches: this origin only ("Try it out").
Checked by hand in headless Chromium with the package's files served under the
CDN's name: the page renders and reports no violation.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, Response, Router, get
from litestar.openapi.plugins import SwaggerRenderPlugin

SWAGGER_VERSION = "5.18.2"
_CDN = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_VERSION}"
SWAGGER_JS = (
    f"{_CDN}/swagger-ui-bundle.js",
    "sha384-NXtFPpN61oWCuN4D42K6Zd5Rt2+uxeIT36R7kpXBuY9tLnZorzrJ4ykpqwJfgjpZ",
)
SWAGGER_PRESET_JS = (
    f"{_CDN}/swagger-ui-standalone-preset.js",
    "sha384-qr68CD0cvHa88PmVu7e1a58Ego4qvKtcvcLdS2a8Mo5zILI01gyIV9jVwJk7X2NU",
)
SWAGGER_CSS = (
    f"{_CDN}/swagger-ui.css",
    "sha384-rcbEi6xgdPk0iWkAQzT2F3FeBJXdG+ydrawGlfHAFIZG7wU6aKbQaRewysYpmrlW",
)
INIT_SCRIPT = "swagger-init.js"
INIT_ROUTE = "klantroef_swagger_init"

DOCS_CSP = "; ".join(
    (
        "default-src 'none'",
        f"script-src 'self' {SWAGGER_JS[0]} {SWAGGER_PRESET_JS[0]}",
        f"style-src {SWAGGER_CSS[0]}",
        "img-src data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""The policy of every response under ``/schema`` (JSON and 404s get it too: it costs nothing)."""

_INIT = """\
"use strict";
window.ui = SwaggerUIBundle({
  url: document.currentScript.dataset.spec,
  dom_id: "#swagger-container",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


class SwaggerPage(SwaggerRenderPlugin):
    """Swagger UI with integrity-checked CDN files and no inline script."""

    def __init__(self) -> None:
        super().__init__(version=SWAGGER_VERSION, favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec = html.escape(self.get_openapi_json_route(request))
        init = html.escape(request.app.route_reverse(INIT_ROUTE))
        css, js, preset = (
            f'href="{SWAGGER_CSS[0]}" integrity="{SWAGGER_CSS[1]}" crossorigin="anonymous"',
            f'src="{SWAGGER_JS[0]}" integrity="{SWAGGER_JS[1]}" crossorigin="anonymous"',
            f'src="{SWAGGER_PRESET_JS[0]}" integrity="{SWAGGER_PRESET_JS[1]}" '
            'crossorigin="anonymous"',
        )
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{title}</title><link rel="stylesheet" {css}></head>'
            f'<body><div id="swagger-container"></div><script {js}></script>'
            f'<script {preset}></script><script src="{init}" data-spec="{spec}"></script>'
            "</body></html>\n"
        ).encode()

    def receive_router(self, router: Router) -> None:
        router.register(swagger_init)


@get(
    f"/{INIT_SCRIPT}",
    name=INIT_ROUTE,
    media_type="text/javascript",
    include_in_schema=False,
)
async def swagger_init() -> Response[str]:
    """The script that starts Swagger UI on the page (same origin, so the CSP allows it)."""
    return Response(_INIT, headers={"cache-control": "public, max-age=3600"})


def docs_router() -> Router:
    """``/schema``: where Litestar mounts the document and Swagger UI, all under :data:`DOCS_CSP`."""
    return Router(
        "/schema",
        route_handlers=[],
        include_in_schema=False,
        response_headers={"Content-Security-Policy": DOCS_CSP},
    )
