"""/media/{id}/view and /media/{id}/analytics: logging views, reading exact counts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from klantroef_core.domain.views import DayRange
from klantroef_core.use_cases.views import VIEW_POLICY, GetAnalytics, LogView, RecordedView
from klantroef_http.dependencies import client_ip
from klantroef_http.problems import problem_responses
from klantroef_http.rate_limit_headers import rate_limit_headers
from klantroef_http.security import BEARER, admin_only, optional_claims_of
from klantroef_http.views.schemas import AnalyticsOut, ViewOut


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
    operation_id="recordView",
    status_code=HTTP_201_CREATED,
    security=[{}, *BEARER],  # with ?token=, or an admin's bearer token
    responses=problem_responses(400, 401, 403, 404, 429, 503),
    summary="Log a view (bearer token, or the item's stream token as ?token=)",
    tags=["analytics"],
)
async def record_view(
    request: Request[Any, Any, Any],
    log_view: NamedDependency[LogView],
    media_id: FromPath[str],
    token: Annotated[
        str | None, QueryParameter(name="token", description="this item's stream token")
    ] = None,
) -> Response[ViewOut]:
    recorded = await log_view(
        media_id, client_ip(request), admin=optional_claims_of(request), stream_token=token
    )
    return Response(
        ViewOut.of(recorded.view), status_code=HTTP_201_CREATED, headers=_headers(recorded)
    )


@get(
    "/media/{media_id:str}/analytics",
    operation_id="getAnalytics",
    guards=[admin_only],
    security=BEARER,
    responses=problem_responses(400, 401, 404, 422, 503),
    cache_control=CacheControlHeader(no_store=True),
    summary="Exact view counts: total, unique clients, and per UTC day",
    tags=["analytics"],
)
async def analytics(
    get_analytics: NamedDependency[GetAnalytics],
    media_id: FromPath[str],
    first: Annotated[
        date | None, QueryParameter(name="from", description="first UTC day (YYYY-MM-DD)")
    ] = None,
    last: Annotated[
        date | None, QueryParameter(name="to", description="last UTC day (YYYY-MM-DD)")
    ] = None,
    cache_control: Annotated[
        str | None,
        HeaderParameter(
            name="cache-control",
            description="`no-cache` reads the report from the view log, not the "
            "analytics cache (the fresh report is cached after)",
        ),
    ] = None,
) -> AnalyticsOut:
    days = DayRange(first, last)
    return AnalyticsOut.of(await get_analytics(media_id, days, fresh=no_cache(cache_control)))


def no_cache(cache_control: str | None) -> bool:
    """Whether a ``Cache-Control`` value holds the ``no-cache`` directive (any case,
    among others, with or without a field list: ``no-cache="x"`` counts too)."""
    if not cache_control:
        return False
    for directive in cache_control.split(","):
        name = directive.partition("=")[0].strip().lower()
        if name == "no-cache":
            return True
    return False


view_routes = [record_view, analytics]
