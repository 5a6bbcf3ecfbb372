"""Where each backend keeps what processes must share, and how many workers it allows."""

from __future__ import annotations

import logging

import pytest

from klantroef_adapters.memory.analytics_cache import InMemoryAnalyticsCache
from klantroef_adapters.memory.media_repository import InMemoryMediaRepository
from klantroef_adapters.memory.media_storage import InMemoryMediaStorage
from klantroef_adapters.memory.partial_uploads import InMemoryPartialUploads
from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_adapters.memory.token_store import InMemoryTokenStore
from klantroef_adapters.memory.view_log import InMemoryViewLog
from klantroef_adapters.redis.analytics_cache import RedisAnalyticsCache
from klantroef_adapters.redis.durable_token_store import DurableRedisTokenStore
from klantroef_adapters.redis.rate_limiter import RedisRateLimiter
from klantroef_adapters.sql.rate_limiter import SqlRateLimiter
from klantroef_adapters.sql.token_store import MirroredSqlTokenStore, SqlTokenStore
from klantroef_adapters.sql.upload_leases import SqlUploadLeases
from klantroef_adapters.storage.leases import InMemoryUploadLeases
from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_adapters.storage.partial_uploads import LocalPartialUploads
from klantroef_adapters.storage.s3 import S3MediaStorage
from klantroef_adapters.storage.s3_partial_uploads import S3PartialUploads, part_size_for
from klantroef_adapters.uncached import NoAnalyticsCache
from klantroef_app.cli import check_workers
from klantroef_app.container import bootstrap, close, shared_state
from klantroef_app.settings import S3Settings, Settings, SettingsError
from klantroef_core.domain.client_identity import ClientIdentity
from klantroef_core.domain.rates import Rate
from klantroef_core.domain.views import Analytics, DayRange
from klantroef_core.use_cases.views import GetAnalytics, RecordView
from tests.factories import A_MOMENT, make_media
from tests.fakes import FakeClock

MARIADB = "mysql+aiomysql://user@db.invalid:3306/klantroef"
SQLITE = "sqlite:///var/klantroef.db"
REDIS = "redis://cache.invalid:6379/0"


@pytest.mark.parametrize(
    ("database_url", "redis_url", "where", "tokens", "limiter", "cache"),
    [
        (MARIADB, None, "sql", SqlTokenStore, SqlRateLimiter, NoAnalyticsCache),
        (
            SQLITE,
            None,
            "embedded",
            MirroredSqlTokenStore,
            InMemoryRateLimiter,
            InMemoryAnalyticsCache,
        ),
        (
            "memory://",
            None,
            "memory",
            InMemoryTokenStore,
            InMemoryRateLimiter,
            InMemoryAnalyticsCache,
        ),
        (MARIADB, REDIS, "redis", DurableRedisTokenStore, RedisRateLimiter, RedisAnalyticsCache),
        (SQLITE, REDIS, "redis", DurableRedisTokenStore, RedisRateLimiter, RedisAnalyticsCache),
    ],
)
def test_each_backend_gets_the_shared_state_adapters_it_needs(
    database_url: str,
    redis_url: str | None,
    where: str,
    tokens: type,
    limiter: type,
    cache: type,
) -> None:
    settings = Settings(database_url=database_url, redis_url=redis_url)
    container = bootstrap(settings)  # nothing connects at build time

    assert shared_state(settings) == where
    assert type(container.token_store()) is tokens
    assert type(container.rate_limiter()) is limiter
    assert type(container.analytics_cache()) is cache


@pytest.mark.parametrize(
    ("database_url", "redis_url"),
    [(MARIADB, None), (MARIADB, REDIS), (SQLITE, REDIS)],
)
def test_several_workers_are_allowed_where_every_process_shares_the_state(
    database_url: str, redis_url: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="klantroef"):
        check_workers(Settings(database_url=database_url, redis_url=redis_url), 4)

    warned = any("SQLite" in record.getMessage() for record in caplog.records)
    assert warned == (database_url == SQLITE)


@pytest.mark.parametrize(
    ("database_url", "redis_url", "named"),
    [
        (SQLITE, None, "KLANTROEF_REDIS_URL"),
        ("memory://", None, "memory://"),
        ("memory://", REDIS, "memory://"),
    ],
)
def test_several_workers_are_refused_where_state_stays_in_one_process(
    database_url: str, redis_url: str | None, named: str
) -> None:
    settings = Settings(database_url=database_url, redis_url=redis_url)
    check_workers(settings, 1)

    with pytest.raises(SettingsError, match=named):
        check_workers(settings, 2)


async def test_no_analytics_cache_never_hits_and_keeps_nothing() -> None:
    cache = NoAnalyticsCache()
    media_id = make_media().id
    report = Analytics(media_id, total_views=1, unique_ips=1, views_per_day=())

    generation = (await cache.lookup(media_id, DayRange())).generation
    await cache.put(report, DayRange(), generation)

    assert (await cache.lookup(media_id, DayRange())).report is None
    await cache.invalidate(media_id)
    assert (await cache.lookup(media_id, DayRange())).report is None


async def test_without_a_cache_every_reader_sees_every_writers_view_at_once() -> None:
    """Two "processes": their own use cases and cache objects, one shared view log."""
    repository = InMemoryMediaRepository()
    log = InMemoryViewLog(repository)
    item = make_media()
    await repository.add(item)
    writers, readers = [], []
    for _ in range(2):
        cache = NoAnalyticsCache()
        writers.append(
            RecordView(
                views=log,
                cache=cache,
                limiter=InMemoryRateLimiter(),
                clock=FakeClock(A_MOMENT),
                identity=ClientIdentity.configured("raw", None),
                rate=Rate(30, 60.0),
            )
        )
        readers.append(GetAnalytics(repository, log, cache))

    for n in range(6):
        await writers[n % 2](item.id, f"203.0.113.{n % 4}")
        for read in readers:
            report = await read(item.id, DayRange())
            assert (report.total_views, report.unique_ips) == (n + 1, min(n + 1, 4))


@pytest.mark.parametrize(
    ("settings", "storage"),
    [
        (Settings(database_url=SQLITE), LocalMediaStorage),
        (Settings(database_url=MARIADB, redis_url=REDIS), LocalMediaStorage),
        (Settings(), InMemoryMediaStorage),
        (
            Settings(database_url=MARIADB, s3=S3Settings("media", endpoint="http://s3.invalid")),
            S3MediaStorage,
        ),
        (Settings(database_url=SQLITE, s3=S3Settings("media")), S3MediaStorage),
    ],
)
async def test_a_bucket_puts_media_bytes_in_s3_wherever_the_records_are(
    settings: Settings, storage: type
) -> None:
    container = bootstrap(settings)  # nothing connects at build time

    chosen = container.media_storage()

    assert type(chosen) is storage
    assert container.media_storage() is chosen  # one per container
    if isinstance(chosen, S3MediaStorage):
        assert (chosen.bucket, chosen.prefix) == ("media", "")
    await close(container)  # closes the S3 client too (none was opened)


@pytest.mark.parametrize("redirect", [False, True])
async def test_redirect_mode_hands_the_s3_store_to_the_stream_as_its_direct_links(
    redirect: bool,
) -> None:
    settings = Settings(database_url=MARIADB, s3=S3Settings("media", redirect=redirect))
    container = bootstrap(settings)

    links = container.direct_links()

    assert links is (container.media_storage() if redirect else None)
    assert container.open_stream().direct is links
    assert bootstrap(Settings(database_url=SQLITE)).direct_links() is None
    await close(container)


@pytest.mark.parametrize(
    ("settings", "partials", "leases"),
    [
        (Settings(database_url=SQLITE), LocalPartialUploads, None),
        (Settings(database_url=MARIADB, redis_url=REDIS), LocalPartialUploads, None),
        (Settings(), InMemoryPartialUploads, None),
        (Settings(database_url=MARIADB, s3=S3Settings("media")), S3PartialUploads, SqlUploadLeases),
        (Settings(database_url=SQLITE, s3=S3Settings("media")), S3PartialUploads, SqlUploadLeases),
        (Settings(), InMemoryPartialUploads, InMemoryUploadLeases),
    ],
)
async def test_unfinished_uploads_wait_where_the_media_go_claimed_where_the_records_are(
    settings: Settings, partials: type, leases: type | None
) -> None:
    """In the bucket on S3 (any host continues them; one writer at a time through
    claims in the database), else on this host's disk or in memory."""
    container = bootstrap(settings)

    chosen = container.partial_uploads()

    assert type(chosen) is partials
    if leases is not None:
        assert type(container.upload_leases()) is leases
    if isinstance(chosen, S3PartialUploads):
        assert chosen.part_size == part_size_for(settings.max_upload_bytes)
        assert chosen.folder("u1") == "uploads/u1/"
    await close(container)
