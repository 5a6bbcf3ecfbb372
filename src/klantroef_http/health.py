"""/health: liveness and readiness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol, runtime_checkable

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from klantroef_http.security import PUBLIC


@runtime_checkable
class Readiness(Protocol):
    """Checks the backing services; maps each name to whether it answered."""

    async def check(self) -> Mapping[str, bool]: ...


class HealthOut(msgspec.Struct):
    """Liveness or readiness, with each backing service's state."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, bool] = msgspec.field(default_factory=dict)


@get(
    "/health/live",
    operation_id="live",
    summary="The process is up",
    tags=["health"],
    cache=False,
    opt=PUBLIC,
)
async def live() -> HealthOut:
    return HealthOut(status="ok")


@get(
    "/health/ready",
    operation_id="ready",
    summary="The database (and Redis, if used) answer",
    tags=["health"],
    opt=PUBLIC,
    responses={
        503: ResponseSpec(HealthOut, description="A backing service does not answer"),
    },
)
async def ready(readiness: NamedDependency[Readiness]) -> Response[HealthOut]:
    checks = dict(await readiness.check())
    healthy = all(checks.values())
    return Response(
        HealthOut(status="ok" if healthy else "unavailable", checks=checks),
        status_code=200 if healthy else 503,
    )


health_routes = [live, ready]
