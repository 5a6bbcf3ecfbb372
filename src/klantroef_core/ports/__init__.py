"""The ports: what the core needs from the outside world, one protocol per module.

Each protocol's docstring lists its promises. Every storage port has an
in-memory implementation in ``klantroef_adapters.memory`` and a contract suite,
``klantroef_adapters.testing.<Port>Contract``, that checks exactly those promises
and runs unchanged against every implementation, including ones written elsewhere.
"""

from klantroef_core.ports.admin_repository import AdminRepository
from klantroef_core.ports.analytics_cache import AnalyticsCache
from klantroef_core.ports.clock import Clock
from klantroef_core.ports.direct_links import DirectLinks
from klantroef_core.ports.ids import IdGenerator
from klantroef_core.ports.media_packager import MediaPackager
from klantroef_core.ports.media_probe import MediaProbe, StoredMedia
from klantroef_core.ports.media_repository import MediaRepository
from klantroef_core.ports.media_storage import MediaStorage, StoredBlob
from klantroef_core.ports.partial_uploads import PartialUploads
from klantroef_core.ports.password_hasher import PasswordHasher
from klantroef_core.ports.rate_limiter import RateDecision, RateLimiter
from klantroef_core.ports.signer import Signer
from klantroef_core.ports.token_store import TokenStore
from klantroef_core.ports.upload_sessions import UploadSessions
from klantroef_core.ports.view_log import ViewLog

__all__ = [
    "AdminRepository",
    "AnalyticsCache",
    "Clock",
    "DirectLinks",
    "IdGenerator",
    "MediaPackager",
    "MediaProbe",
    "MediaRepository",
    "MediaStorage",
    "PartialUploads",
    "PasswordHasher",
    "RateDecision",
    "RateLimiter",
    "Signer",
    "StoredBlob",
    "StoredMedia",
    "TokenStore",
    "UploadSessions",
    "ViewLog",
]
