"""Contract suites for Klantroef's ports, for any implementation, here or elsewhere.

Each ``<Port>Contract`` is a pytest base class holding one test (or a few) per
promise in the port's docstring. Subclass it in your own test module as
``Test<YourAdapter>`` and provide the async fixture ``adapter`` (a fresh, empty
instance of your adapter) plus the extra fixtures the class docstring names; every
inherited test then runs against it::

    import pytest
    from klantroef_adapters.testing import RateLimiterContract

    class TestMyLimiter(RateLimiterContract):
        @pytest.fixture
        async def adapter(self) -> MyLimiter:
            return MyLimiter()

Needs the ``testing`` extra (pytest, pytest-asyncio with ``asyncio_mode = "auto"``,
hypothesis); nothing outside this package imports it.
"""

from klantroef_adapters.testing.admin_repository import AdminRepositoryContract
from klantroef_adapters.testing.analytics_cache import AnalyticsCacheContract
from klantroef_adapters.testing.clock import ManualClock
from klantroef_adapters.testing.media_probe import MediaProbeContract
from klantroef_adapters.testing.media_repository import MediaRepositoryContract
from klantroef_adapters.testing.media_storage import MediaStorageContract
from klantroef_adapters.testing.partial_uploads import PartialUploadsContract
from klantroef_adapters.testing.rate_limiter import RateLimiterContract
from klantroef_adapters.testing.token_store import TokenStoreContract
from klantroef_adapters.testing.upload_sessions import UploadSessionsContract
from klantroef_adapters.testing.view_log import ViewLogContract

__all__ = [
    "AdminRepositoryContract",
    "AnalyticsCacheContract",
    "ManualClock",
    "MediaProbeContract",
    "MediaRepositoryContract",
    "MediaStorageContract",
    "PartialUploadsContract",
    "RateLimiterContract",
    "TokenStoreContract",
    "UploadSessionsContract",
    "ViewLogContract",
]
