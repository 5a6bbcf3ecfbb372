"""The composition root: every adapter and use case, wired from Settings.

Read it top to bottom as the program's start: settings and secrets, then the
adapters (chosen by the settings: memory, SQL, Redis), then the use cases built
from them. Nothing connects at import or build time; engines and clients
connect on first use. :func:`bootstrap` is the one way to get a container, in
production and in tests alike: a test passes its fakes as overrides.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections.abc import Mapping
from datetime import timedelta
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dependency_injector import containers, providers
from redis.asyncio import Redis

from klantroef_adapters.health import BackendReadiness
from klantroef_adapters.media.hls import PyAvPackager
from klantroef_adapters.memory.admin_repository import InMemoryAdminRepository
from klantroef_adapters.memory.analytics_cache import InMemoryAnalyticsCache
from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.memory.partial_uploads import InMemoryPartialUploads
from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_adapters.memory.token_store import InMemoryTokenStore
from klantroef_adapters.memory.upload_sessions import InMemoryUploadSessions
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.observed import (
    CountedAnalyticsCache,
    CountedUploads,
    CountedViewLimiter,
    CountedViewLog,
    DomainMetrics,
)
from klantroef_adapters.passwords import Argon2PasswordHasher
from klantroef_adapters.redis.analytics_cache import RedisAnalyticsCache
from klantroef_adapters.redis.client import create_redis
from klantroef_adapters.redis.durable_token_store import DurableRedisTokenStore
from klantroef_adapters.redis.rate_limiter import RedisRateLimiter
from klantroef_adapters.redis.token_store import RedisTokenStore
from klantroef_adapters.signing import JwtSigner, KeyRing
from klantroef_adapters.sql.admin_repository import SqlAdminRepository
from klantroef_adapters.sql.engine import SqlEngine, create_engine, is_sqlite
from klantroef_adapters.sql.media_repository import SqlMediaRepository
from klantroef_adapters.sql.rate_limiter import SqlRateLimiter
from klantroef_adapters.sql.token_store import MirroredSqlTokenStore, SqlTokenStore
from klantroef_adapters.sql.upload_leases import SqlUploadLeases
from klantroef_adapters.sql.upload_sessions import SqlUploadSessions
from klantroef_adapters.sql.view_log import SqlViewLog
from klantroef_adapters.storage.leases import InMemoryUploadLeases, UploadLeases
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_adapters.storage.partial_uploads import LocalPartialUploads
from klantroef_adapters.system import SystemClock, UuidGenerator
from klantroef_adapters.uncached import NoAnalyticsCache
from klantroef_app.metrics import metrics_registry
from klantroef_app.secrets_file import Retired, Secrets, lifetimes, load_secrets
from klantroef_app.settings import Settings
from klantroef_core.domain.client_identity import ClientIdentity
from klantroef_core.domain.client_ip import TrustedProxies
from klantroef_core.use_cases.auth import Authenticate, CurrentAdmin, Login, Logout, Signup
from klantroef_core.use_cases.hls import IssuePlaybackLinks, OpenHlsPlaylist, OpenHlsSegment
from klantroef_core.use_cases.media_catalogue import DeleteMedia, GetMedia, ListMedia
from klantroef_core.use_cases.media_details import ProbeStoredMedia
from klantroef_core.use_cases.media_streaming import IssueStreamLink, OpenPoster, OpenStream
from klantroef_core.use_cases.media_upload import UploadMedia
from klantroef_core.use_cases.resumable_upload import (
    AppendToUpload,
    CancelUpload,
    CreateUpload,
    SweepUploads,
    UploadStatus,
    UploadStores,
)
from klantroef_core.use_cases.stream_access import CheckStreamToken
from klantroef_core.use_cases.views import AuthoriseView, GetAnalytics, LogView, RecordView

if TYPE_CHECKING:
    from klantroef_adapters.media.pyav_probe import PyAvMediaProbe
    from klantroef_adapters.storage.s3 import S3MediaStorage
    from klantroef_adapters.storage.s3_partial_uploads import S3PartialUploads


def key_id(secret: str) -> str:
    """A key's ``kid``: a short hash of the key itself, so it needs no configuration."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def key_ring(
    current: str, *previous: str | None, retired: Mapping[str, int] | None = None
) -> KeyRing:
    """The current key, which signs, the previous ones that still verify, and the
    retired ones of the secrets file, each verifying until its moment in ``retired``."""
    secrets = [current, *(p for p in previous if p), *(retired or {})]
    return KeyRing(
        {key_id(s): s.encode() for s in secrets},
        key_id(current),
        not_after={key_id(s): until for s, until in (retired or {}).items()},
    )


def make_signer(settings: Settings, secrets: Secrets) -> JwtSigner:
    lifetime = lifetimes(settings)

    def retired(keys: tuple[Retired, ...], name: str) -> dict[str, int]:
        return {r.secret: r.verifies_until(lifetime[name]) for r in keys}

    return JwtSigner(
        access_keys=key_ring(
            secrets.access_secret,
            settings.access_secret_previous,
            retired=retired(secrets.access_previous, "access_secret"),
        ),
        stream_keys=key_ring(
            secrets.stream_secret,
            settings.stream_secret_previous,
            retired=retired(secrets.stream_previous, "stream_secret"),
        ),
        stream_leeway_seconds=settings.stream_leeway,
    )


def make_redis(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    return create_redis(settings.redis_url, timeout=settings.redis_timeout)


def make_s3_storage(settings: Settings) -> S3MediaStorage:
    # Imported here: aiobotocore and aiohttp take a second to import, and a deployment
    # without S3 (or a library user of in_memory()) should not pay it.
    from klantroef_adapters.storage.s3 import S3MediaStorage

    s3 = settings.s3
    if s3 is None:
        raise ValueError("S3 storage needs KLANTROEF_S3_BUCKET")
    return S3MediaStorage(
        s3.bucket,
        endpoint=s3.endpoint,
        region=s3.region,
        access_key_id=s3.access_key_id,
        secret_access_key=s3.secret_access_key,
        prefix=s3.prefix,
        connect_timeout=min(3.0, settings.s3_timeout),
        read_timeout=settings.s3_timeout,
    )


def make_media_probe(settings: Settings) -> PyAvMediaProbe:
    # Imported here: PyAV loads FFmpeg's libraries, which a process that never
    # uploads (a CLI command, a test of something else) need not pay for.
    from klantroef_adapters.media.pyav_probe import PyAvMediaProbe

    return PyAvMediaProbe(timeout=settings.probe_timeout)


def blobs(settings: Settings) -> str:
    """Where media bytes live: ``s3`` (``KLANTROEF_S3_BUCKET`` set), ``local`` files or ``memory``."""
    if settings.s3 is not None:
        return "s3"
    return "memory" if settings.in_memory else "local"


def partial_upload_dir(settings: Settings) -> Path:
    """Where the bytes of unfinished tus uploads wait on local storage: in the media
    folder. On S3 they wait in the bucket; the data folder's ``uploads`` is where
    versions before that kept them, still swept of idle files at start."""
    if settings.s3 is not None:
        return settings.data_dir / "uploads"
    return settings.media_dir / ".uploads"


def make_s3_partial_uploads(
    settings: Settings, storage: S3MediaStorage, leases: UploadLeases
) -> S3PartialUploads:
    """Unfinished uploads in the media bucket, on the media store's client; parts large
    enough that S3's 10,000 hold the largest upload allowed."""
    from klantroef_adapters.storage.s3_partial_uploads import S3PartialUploads, part_size_for

    return S3PartialUploads(storage, leases, part_size=part_size_for(settings.max_upload_bytes))


def direct_links(settings: Settings) -> str:
    """Whether stream GETs redirect to the store's own URLs: ``s3`` or ``none``."""
    return "s3" if settings.s3 is not None and settings.s3.redirect else "none"


def records(settings: Settings) -> str:
    """Where admins, media and views live: ``memory`` or ``sql``."""
    return "memory" if settings.in_memory else "sql"


def shared_state(settings: Settings) -> str:
    """Where revocations, rate limits and analytics freshness live.

    - ``redis``: in Redis, whenever ``KLANTROEF_REDIS_URL`` is set (any number of processes);
    - ``sql``: in MySQL/MariaDB, which every process shares: revocations and limits
      in tables, analytics read from the aggregates with no cache to go stale;
    - ``embedded``: SQLite, where ``klantroef serve`` runs one process: revocations
      durable in the file and mirrored in memory, limits and the cache in memory;
    - ``memory``: everything in this process (``memory://``).
    """
    if settings.redis_url:
        return "redis"
    if settings.in_memory:
        return "memory"
    return "embedded" if is_sqlite(settings.database_url) else "sql"


class Container(containers.DeclarativeContainer):
    """Everything Klantroef is made of. Get one with :func:`bootstrap`."""

    settings = providers.Dependency(instance_of=Settings)

    # --- settings, secrets and the system ports ---
    secrets = providers.Singleton(load_secrets, settings)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidGenerator)
    trusted_proxies = providers.Singleton(TrustedProxies.parse, settings.provided.trusted_proxies)

    # --- connections (lazy: nothing connects until first used) ---
    engine: providers.Provider[SqlEngine] = providers.Singleton(
        create_engine,
        settings.provided.database_url,
        pool_size=settings.provided.db_pool_size,
        timeout=settings.provided.db_timeout,
    )
    redis: providers.Provider[Redis | None] = providers.Singleton(make_redis, settings)

    # --- adapters; where each store lives is decided once per container ---
    _records = providers.Singleton(records, settings)
    hasher = providers.Singleton(
        Argon2PasswordHasher,
        time_cost=settings.provided.argon2_time_cost,
        memory_cost=settings.provided.argon2_memory_cost,
        parallelism=settings.provided.argon2_parallelism,
    )
    signer = providers.Singleton(make_signer, settings, secrets)
    client_identity = providers.Singleton(
        ClientIdentity.configured, settings.provided.ip_storage, secrets.provided.ip_hash_secret
    )

    admins = providers.Selector(
        _records,
        sql=providers.Singleton(SqlAdminRepository, engine),
        memory=providers.Singleton(InMemoryAdminRepository),
    )
    _memory_media = providers.Singleton(InMemoryMediaRepository)
    media_repository = providers.Selector(
        _records,
        sql=providers.Singleton(SqlMediaRepository, engine),
        memory=_memory_media,
    )
    view_log = providers.Selector(
        _records,
        sql=providers.Singleton(SqlViewLog, engine),
        memory=providers.Singleton(InMemoryViewLog, _memory_media),
    )
    _blobs = providers.Singleton(blobs, settings)
    media_storage = providers.Selector(
        _blobs,
        s3=providers.Singleton(make_s3_storage, settings),
        local=providers.Singleton(LocalMediaStorage, settings.provided.media_dir),
        memory=providers.Singleton(InMemoryMediaStorage),
    )
    upload_leases = providers.Selector(
        _records,
        sql=providers.Singleton(SqlUploadLeases, engine, clock),
        memory=providers.Singleton(InMemoryUploadLeases, clock),
    )
    partial_uploads = providers.Selector(
        _blobs,  # the bytes of unfinished uploads wait where the media go
        s3=providers.Singleton(make_s3_partial_uploads, settings, media_storage, upload_leases),
        local=providers.Singleton(
            LocalPartialUploads, providers.Singleton(partial_upload_dir, settings)
        ),
        memory=providers.Singleton(InMemoryPartialUploads),
    )
    upload_sessions = providers.Selector(
        _records,
        sql=providers.Singleton(SqlUploadSessions, engine),
        memory=providers.Singleton(InMemoryUploadSessions),
    )
    media_packager = providers.Singleton(
        PyAvPackager,
        media_storage,
        timeout=providers.Callable(attrgetter("hls_package_timeout"), settings),
    )
    direct_links = providers.Selector(
        providers.Singleton(direct_links, settings),
        s3=media_storage,
        none=providers.Object(None),
    )
    media_probe = providers.Singleton(make_media_probe, settings)
    _shared_state = providers.Singleton(shared_state, settings)
    _sql_token_store = providers.Singleton(SqlTokenStore, engine, clock)
    token_store = providers.Selector(
        _shared_state,
        # With Redis, the database stays the source of truth: a logout outlives Redis's data.
        redis=providers.Selector(
            _records,
            sql=providers.Singleton(DurableRedisTokenStore, redis, clock, _sql_token_store),
            memory=providers.Singleton(RedisTokenStore, redis, clock),
        ),
        sql=_sql_token_store,
        embedded=providers.Singleton(MirroredSqlTokenStore, _sql_token_store, clock),
        memory=providers.Singleton(InMemoryTokenStore, clock),
    )
    _local_rate_limiter = providers.Singleton(InMemoryRateLimiter)
    rate_limiter = providers.Selector(
        _shared_state,
        redis=providers.Singleton(RedisRateLimiter, redis),
        sql=providers.Singleton(SqlRateLimiter, engine),
        embedded=_local_rate_limiter,
        memory=_local_rate_limiter,
    )
    _local_analytics_cache = providers.Singleton(
        InMemoryAnalyticsCache, ttl=settings.provided.analytics_cache_ttl
    )
    analytics_cache = providers.Selector(
        _shared_state,
        redis=providers.Singleton(
            RedisAnalyticsCache,
            redis,
            ttl=settings.provided.analytics_cache_ttl,
            totals=view_log,  # a hit is served only if the log's total still matches
        ),
        sql=providers.Singleton(NoAnalyticsCache),
        embedded=_local_analytics_cache,
        memory=_local_analytics_cache,
    )
    readiness = providers.Factory(
        BackendReadiness,
        providers.Selector(_records, sql=engine, memory=providers.Object(None)),
        redis,
    )

    # --- metrics: the domain's counters, kept by decorators around the ports that see them ---
    metrics_registry = providers.Singleton(metrics_registry)
    domain_metrics = providers.Singleton(DomainMetrics, metrics_registry)
    _counted_view_log = providers.Singleton(CountedViewLog, view_log, domain_metrics)
    _counted_view_limiter = providers.Singleton(CountedViewLimiter, rate_limiter, domain_metrics)
    _counted_uploads = providers.Singleton(CountedUploads, media_repository, domain_metrics)
    _counted_analytics_cache = providers.Singleton(
        CountedAnalyticsCache, analytics_cache, domain_metrics
    )

    # --- what the use cases take from the settings, worked out once (not per request) ---
    _signup_open = providers.Singleton(attrgetter("signup_open"), settings)
    _login_rate = providers.Singleton(attrgetter("login_rate"), settings)
    _view_rate = providers.Singleton(attrgetter("view_rate"), settings)
    _max_upload_bytes = providers.Singleton(attrgetter("max_upload_bytes"), settings)
    _token_ttl = providers.Singleton(lambda s: timedelta(seconds=s.access_token_ttl), settings)
    _link_ttl = providers.Singleton(lambda s: timedelta(seconds=s.stream_link_ttl), settings)

    # --- use cases: auth ---
    signup = providers.Factory(
        Signup,
        admins=admins,
        hasher=hasher,
        clock=clock,
        ids=ids,
        signup_open=_signup_open,
    )
    login = providers.Factory(
        Login,
        admins=admins,
        hasher=hasher,
        signer=signer,
        clock=clock,
        ids=ids,
        limiter=rate_limiter,
        token_ttl=_token_ttl,
        rate=_login_rate,
    )
    authenticate = providers.Factory(Authenticate, signer=signer, tokens=token_store, clock=clock)
    current_admin = providers.Factory(CurrentAdmin, admins=admins)
    logout = providers.Factory(Logout, tokens=token_store)
    check_stream_token = providers.Factory(CheckStreamToken, signer=signer, clock=clock)

    # --- use cases: media ---
    upload_media = providers.Factory(
        UploadMedia,
        media=_counted_uploads,
        storage=media_storage,
        clock=clock,
        ids=ids,
        max_bytes=_max_upload_bytes,
        probe=media_probe,
    )
    _upload_expiry = providers.Singleton(
        lambda settings: timedelta(seconds=settings.upload_expiry), settings
    )
    _upload_stores = providers.Singleton(
        UploadStores, sessions=upload_sessions, partials=partial_uploads, clock=clock
    )
    append_to_upload = providers.Factory(
        AppendToUpload, uploads=_upload_stores, upload_media=upload_media
    )
    create_upload = providers.Factory(
        CreateUpload,
        uploads=_upload_stores,
        append=append_to_upload,
        ids=ids,
        max_bytes=_max_upload_bytes,
        expiry=_upload_expiry,
    )
    upload_status = providers.Factory(UploadStatus, uploads=_upload_stores, media=media_repository)
    cancel_upload = providers.Factory(CancelUpload, uploads=_upload_stores)
    sweep_uploads = providers.Factory(SweepUploads, uploads=_upload_stores)
    list_media = providers.Factory(ListMedia, media=media_repository)
    get_media = providers.Factory(GetMedia, media=media_repository)
    delete_media = providers.Factory(
        DeleteMedia,
        media=media_repository,
        storage=media_storage,
        cache=analytics_cache,
        packager=media_packager,
    )
    issue_stream_link = providers.Factory(
        IssueStreamLink,
        media=media_repository,
        signer=signer,
        clock=clock,
        ids=ids,
        ttl=_link_ttl,
    )
    open_stream = providers.Factory(
        OpenStream,
        check=check_stream_token,
        media=media_repository,
        storage=media_storage,
        direct=direct_links,
    )
    issue_playback_links = providers.Factory(
        IssuePlaybackLinks, links=issue_stream_link, packager=media_packager
    )
    open_hls_playlist = providers.Factory(
        OpenHlsPlaylist, check=check_stream_token, media=media_repository, packager=media_packager
    )
    open_hls_segment = providers.Factory(
        OpenHlsSegment,
        check=check_stream_token,
        media=media_repository,
        storage=media_storage,
        packager=media_packager,
    )

    open_poster = providers.Factory(
        OpenPoster, check=check_stream_token, media=media_repository, storage=media_storage
    )
    probe_stored_media = providers.Factory(
        ProbeStoredMedia, media=media_repository, storage=media_storage, probe=media_probe
    )

    # --- use cases: views and analytics ---
    authorise_view = providers.Factory(AuthoriseView, check_stream_token=check_stream_token)
    record_view = providers.Factory(
        RecordView,
        views=_counted_view_log,
        cache=analytics_cache,
        limiter=_counted_view_limiter,
        clock=clock,
        identity=client_identity,
        rate=_view_rate,
    )
    log_view = providers.Factory(LogView, authorise=authorise_view, record=record_view)
    get_analytics = providers.Factory(
        GetAnalytics, media=media_repository, views=view_log, cache=_counted_analytics_cache
    )


def bootstrap(settings: Settings | None = None, **overrides: Any) -> Container:
    """The program's start: a container over ``settings`` (default: the environment's).

    Each keyword replaces the provider of that name with the given object, so a
    test or an embedding service swaps an adapter (``clock=FakeClock()``) while
    everything built from it is wired as in production.
    """
    container = Container(settings=settings if settings is not None else Settings.from_env())
    for name, replacement in overrides.items():
        provider = container.providers.get(name)
        if provider is None or name == "settings":
            raise TypeError(f"the container has no provider {name!r} to override")
        provider.override(providers.Object(replacement))
    return container


def in_memory(settings: Settings | None = None, **overrides: Any) -> Container:
    """The whole service in this process's memory: no server, no database, no disk.

    ``settings`` must keep ``database_url`` at ``memory://`` (the default of ``Settings()``).
    """
    settings = settings if settings is not None else Settings()
    if not settings.in_memory:
        raise ValueError("in_memory() needs settings whose database_url is memory://")
    return bootstrap(settings, **overrides)


async def close(container: Container) -> None:
    """Release the engine's pool, the Redis client and the S3 connections."""
    if container.settings().s3 is not None:
        from klantroef_adapters.storage.s3 import S3MediaStorage

        storage = container.media_storage()
        if isinstance(storage, S3MediaStorage):  # not a test's replacement
            await storage.close()
    if "klantroef_adapters.media.pyav_probe" in sys.modules:  # else no probe was made
        from klantroef_adapters.media.pyav_probe import PyAvMediaProbe

        probe = container.media_probe()
        if isinstance(probe, PyAvMediaProbe):  # not a test's replacement
            probe.close()
    client = container.redis()
    if client is not None:
        await client.aclose()
    if not container.settings().in_memory:
        await container.engine().dispose()
    logging.getLogger("klantroef").info("closed the database, Redis and S3 connections")
