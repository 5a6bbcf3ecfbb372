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
from klantroef_core.errors import Unauthorized
from klantroef_core.use_cases.views import VIEW_POLICY, RecordedView
from klantroef_http.deps import Session, client_ip, provide_session, services_of
from klantroef_http.rate_limit_headers import rate_limit_headers
from klantroef_http.view_schemas import AnalyticsOut, ViewOut


async def authorise_view(request: Request[Any, Any, Any], media_id: str, token: str | None) -> None:
    """An admin's bearer token, or else a stream token of this very media item.

    A request with an ``Authorization`` header is judged by it alone (401 when
    bad); without one, the stream token is checked as for streaming (403 when
    forged, expired or for another item). With neither: 401 ``token_missing``.
    """
    if request.headers.get("authorization") is not None:
        await provide_session(request)
        return
    if not token:
        raise Unauthorized(
            "a bearer token, or this media item's stream token as ?token=, is required",
            code="token_missing",
        )
    services_of(request).check_stream_token()(media_id, token)


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
    await authorise_view(request, media_id, token)
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
