"""``GET /metrics``: Prometheus' text format, for the allowed addresses only.

Anyone else gets the same 404 problem as an unknown path, so the route does not
even show that it exists. Who asks is the client address as every route resolves
it (the socket peer; behind a trusted proxy, the address it forwards), not the
bare peer: behind a reverse proxy on the same host every request's peer is
loopback, and judging the peer would hand the metrics to the whole internet.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from klantroef_http.dependencies import client_ip, http_config
from klantroef_http.problems import problem_responses
from klantroef_http.security import PUBLIC

METRICS_MEDIA_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""``text/plain; version=0.0.4; charset=utf-8``"""


@get(
    "/metrics",
    operation_id="metrics",
    opt=PUBLIC,
    media_type=METRICS_MEDIA_TYPE,
    responses={
        200: ResponseSpec(
            str,
            media_type=METRICS_MEDIA_TYPE,
            description="Every metric, in Prometheus' text exposition format 0.0.4",
            generate_examples=False,
        ),
        **problem_responses(404),
    },
    summary="Prometheus metrics (only for addresses in KLANTROEF_METRICS_ALLOW; 404 otherwise)",
    tags=["health"],
    cache=False,
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    config = http_config(request)
    if config.render_metrics is None or not config.metrics_allow.allows(client_ip(request)):
        raise NotFoundException()
    return Response(
        config.render_metrics(),
        media_type=METRICS_MEDIA_TYPE,
        headers={"cache-control": "no-store"},
    )


metrics_routes = [metrics]
