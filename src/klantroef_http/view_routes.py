"""/media/{id}/view and /media/{id}/analytics: logging views, reading exact counts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from klantroef_core.domain.views import DayRange
from klantroef_core.use_cases.views import VIEW_POLICY, RecordedView
from klantroef_http.deps import Session, bearer_token, client_ip, provide_session, services_of
from klantroef_http.rate_limit_headers import rate_limit_headers
from klantroef_http.view_schemas import AnalyticsOut, ViewOut


def _headers(recorded: RecordedView) -> dict[str, str]:
    decision = recorded.decision
    if decision is None:  # the limiter was unreachable: no quota to advertise
        return {}
    return rate_limit_headers(
        VIEW_POLICY,
        decision.limit,
        recorded.rate.period,
        decision.remaining,
        decision.reset_after,
    )


@post(
    "/media/{media_id:str}/view",
    status_code=HTTP_201_CREATED,
    summary="Log a view (bearer token, or the item's stream token as ?token=)",
    tags=["analytics"],
)
async def record_view(
    request: Request[Any, Any, Any],
    media_id: FromPath[str],
    token: Annotated[
        str | None, QueryParameter(name="token", description="this item's stream token")
    ] = None,
) -> Response[ViewOut]:
    await services_of(request).authorise_view()(
        media_id, bearer=bearer_token(request), stream_token=token
    )
    recorded = await services_of(request).record_view()(media_id, client_ip(request))
    return Response(
        ViewOut.of(recorded.view), status_code=HTTP_201_CREATED, headers=_headers(recorded)
    )


@get(
    "/media/{media_id:str}/analytics",
    dependencies={"session": Provide(provide_session)},
    cache_control=CacheControlHeader(no_store=True),
    summary="Exact view counts: total, unique clients, and per UTC day",
    tags=["analytics"],
)
async def analytics(
    request: Request[Any, Any, Any],
    media_id: FromPath[str],
    session: NamedDependency[Session],
    first: Annotated[
        date | None, QueryParameter(name="from", description="first UTC day (YYYY-MM-DD)")
    ] = None,
    last: Annotated[
        date | None, QueryParameter(name="to", description="last UTC day (YYYY-MM-DD)")
    ] = None,
) -> AnalyticsOut:
    report = await services_of(request).get_analytics()(media_id, DayRange(first, last))
    return AnalyticsOut.of(report)


view_routes = [record_view, analytics]
