"""What the HTTP layer needs from the composition root, stated as a protocol.

The dependency-injector container satisfies it structurally: each attribute is
a provider, called per request, so ``container.x.override(...)`` in a test
takes effect through the app without the app knowing about the container.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from klantroef_core.domain.client_ip import TrustedProxies
from klantroef_core.use_cases.auth import Authenticate, CurrentAdmin, Login, Logout, Signup
from klantroef_core.use_cases.media_catalogue import DeleteMedia, GetMedia, ListMedia
from klantroef_core.use_cases.media_streaming import IssueStreamLink, OpenStream
from klantroef_core.use_cases.media_upload import UploadMedia
from klantroef_core.use_cases.stream_access import CheckStreamToken
from klantroef_core.use_cases.views import AuthoriseView, GetAnalytics, RecordView


class Readiness(Protocol):
    """Checks the backing services; maps each name to whether it answered."""

    async def check(self) -> Mapping[str, bool]: ...


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """The few settings that shape HTTP behaviour rather than rules."""

    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    public_base_url: str | None = None
    max_json_body_bytes: int = 64 * 1024
    debug: bool = False


class Services(Protocol):
    """Use-case factories, each called once per request."""

    @property
    def signup(self) -> Callable[[], Signup]: ...
    @property
    def login(self) -> Callable[[], Login]: ...
    @property
    def logout(self) -> Callable[[], Logout]: ...
    @property
    def authenticate(self) -> Callable[[], Authenticate]: ...
    @property
    def current_admin(self) -> Callable[[], CurrentAdmin]: ...
    @property
    def readiness(self) -> Callable[[], Readiness]: ...
    @property
    def check_stream_token(self) -> Callable[[], CheckStreamToken]: ...

    # --- media (issue 3) ---
    @property
    def upload_media(self) -> Callable[[], UploadMedia]: ...
    @property
    def list_media(self) -> Callable[[], ListMedia]: ...
    @property
    def get_media(self) -> Callable[[], GetMedia]: ...
    @property
    def delete_media(self) -> Callable[[], DeleteMedia]: ...
    @property
    def issue_stream_link(self) -> Callable[[], IssueStreamLink]: ...
    @property
    def open_stream(self) -> Callable[[], OpenStream]: ...

    # --- views and analytics (issue 4) ---
    @property
    def authorise_view(self) -> Callable[[], AuthoriseView]: ...
    @property
    def record_view(self) -> Callable[[], RecordView]: ...
    @property
    def get_analytics(self) -> Callable[[], GetAnalytics]: ...
