"""Logging a view of a media item, and reading the analytics kept from views."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from klantroef_core.domain.client_identity import ClientIdentity
from klantroef_core.domain.rates import Rate
from klantroef_core.domain.tokens import AccessClaims
from klantroef_core.domain.views import Analytics, DayRange, View
from klantroef_core.errors import RateLimited, Unavailable, UnknownMedia
from klantroef_core.ports import (
    AnalyticsCache,
    Clock,
    MediaRepository,
    RateDecision,
    RateLimiter,
    ViewLog,
)
from klantroef_core.use_cases.credentials import token_missing
from klantroef_core.use_cases.media_lookup import media_not_found, require_media
from klantroef_core.use_cases.stream_access import CheckStreamToken

logger = logging.getLogger("klantroef.views")

ALL_DAYS = DayRange()
VIEW_POLICY = "views"
"""The name the view quota goes by in ``RateLimit-Policy``."""


@dataclass(frozen=True, slots=True)
class AuthoriseView:
    """Who may log a view: an admin, or a viewer holding this very item's stream link.

    ``admin`` is the claims of an access token already authenticated (a request
    whose bearer token is bad never gets this far); without one, the stream
    token is checked as for streaming (403 when forged, expired or for another
    item). With neither: 401 ``token_missing``.
    """

    check_stream_token: CheckStreamToken

    def __call__(
        self, media_id: str, *, admin: AccessClaims | None, stream_token: str | None
    ) -> None:
        if admin is not None:
            return
        if not stream_token:
            raise token_missing()
        self.check_stream_token(media_id, stream_token)


@dataclass(frozen=True, slots=True)
class RecordedView:
    """A logged view, and the limiter's word on it (None when the limiter was unreachable)."""

    view: View
    rate: Rate
    decision: RateDecision | None


@dataclass(frozen=True, slots=True)
class RecordView:
    """Log one view of an existing media item, at most ``rate`` per client and item.

    The client (its IP, or a keyed hash of it, by ``identity``) is both what is
    logged and what is limited. Rate-limiter failures fail open: a view is worth
    more than the limit, so it is logged and the failure is logged as a warning.
    Once the view is recorded the item's cached analytics are invalidated, so the
    next read includes it; a cache failure there is logged, never raised (a cache
    that can fail checks its hits against the log, so the next read includes the
    view all the same).
    """

    views: ViewLog
    cache: AnalyticsCache
    limiter: RateLimiter
    clock: Clock
    identity: ClientIdentity
    rate: Rate

    async def __call__(self, media_id: str, client_ip: str) -> RecordedView:
        # No lookup first: the log refuses views of unknown media, so a view
        # costs one transaction, not a read and a transaction.
        client = self.identity.of(client_ip)
        now = self.clock.now()
        decision = await self._limit(f"view:{media_id}:{client}", now.timestamp())
        view = View(media_id=media_id, client=client, viewed_at=now)
        try:
            await self.views.record(view)
        except UnknownMedia:
            raise media_not_found() from None
        try:
            await self.cache.invalidate(media_id)
        except Unavailable as exc:
            # The view counts all the same: a cache that can be unreachable checks
            # each hit against the log (the port's promise), so no stale report follows.
            logger.warning(
                "analytics cache unreachable; reports of %s not invalidated: %s",
                media_id,
                exc.detail,
            )
        return RecordedView(view, self.rate, decision)

    async def _limit(self, key: str, now: float) -> RateDecision | None:
        try:
            decision = await self.limiter.hit(key, self.rate, now)
        except Unavailable as exc:
            logger.warning("rate limiter unreachable; logging the view unlimited: %s", exc.detail)
            return None
        if not decision.allowed:
            raise RateLimited(
                "too many views of this media item from this client; try again later",
                retry_after=decision.retry_after,
                policy=VIEW_POLICY,
                limit=self.rate.limit,
                window=self.rate.period,
            )
        return decision


@dataclass(frozen=True, slots=True)
class LogView:
    """Log a view on someone's behalf: who asks is checked first, then the view is recorded.

    What the HTTP route does in one call; :class:`AuthoriseView` and
    :class:`RecordView` stay usable alone by a Python service that trusts its caller.
    """

    authorise: AuthoriseView
    record: RecordView

    async def __call__(
        self,
        media_id: str,
        client_ip: str,
        *,
        admin: AccessClaims | None,
        stream_token: str | None,
    ) -> RecordedView:
        self.authorise(media_id, admin=admin, stream_token=stream_token)
        return await self.record(media_id, client_ip)


@dataclass(frozen=True, slots=True)
class GetAnalytics:
    """Exact analytics of an existing media item, cached but never stale.

    The cache generation is read *before* the log, and a report is stored only
    under that generation, so a report that misses a view recorded meanwhile is
    never stored as current. An unreachable cache is a miss: the report comes
    from the log, and nothing is stored.

    Only whole reports are cached (one entry per media item); a ``from``/``to``
    request is sliced from the whole one, so arbitrary ranges cannot fill the cache.

    ``fresh=True`` (an admin's ``Cache-Control: no-cache``) never serves a cached
    report: the report is read from the log, then stored as a miss stores it. The
    lookup still runs, for the generation the store is made under.
    """

    media: MediaRepository
    views: ViewLog
    cache: AnalyticsCache

    async def __call__(
        self, media_id: str, days: DayRange = ALL_DAYS, *, fresh: bool = False
    ) -> Analytics:
        return (await self._whole(media_id, fresh=fresh)).narrowed(days)

    async def _whole(self, media_id: str, *, fresh: bool = False) -> Analytics:
        # A hit needs no media lookup: deleting media invalidates its reports.
        try:
            found = await self.cache.lookup(media_id, ALL_DAYS)
        except Unavailable as exc:
            logger.warning("analytics cache unreachable; reading the log: %s", exc.detail)
            await require_media(self.media, media_id)
            return await self.views.report(media_id, ALL_DAYS)
        if found.report is not None and not fresh:
            return found.report
        await require_media(self.media, media_id)
        generation = found.generation
        report = await self.views.report(media_id, ALL_DAYS)
        try:
            await self.cache.put(report, ALL_DAYS, generation)
        except Unavailable as exc:
            logger.warning("analytics cache unreachable; report not cached: %s", exc.detail)
        return report
