"""/health: liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from klantroef_http.deps import services_of
from klantroef_http.schemas import HealthOut


@get("/health/live", summary="The process is up", tags=["health"], cache=False)
async def live() -> HealthOut:
    return HealthOut(status="ok")


@get("/health/ready", summary="The database (and Redis, if used) answer", tags=["health"])
async def ready(request: Request[Any, Any, Any]) -> Response[HealthOut]:
    checks = dict(await services_of(request).readiness().check())
    healthy = all(checks.values())
    return Response(
        HealthOut(status="ok" if healthy else "unavailable", checks=checks),
        status_code=200 if healthy else 503,
    )


health_routes = [live, ready]
