"""What handlers can ask for by parameter name, through Litestar's dependency injection.

Every use case the app was given is a dependency of its own name, built once
per request by its factory (so a test that overrides an adapter reaches the
next request). Besides them: ``claims`` and ``optional_claims`` (the signed-in
admin), ``client_ip`` and ``public_base_url``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from litestar import Request
from litestar.di import Provide

from klantroef_http.config import HttpConfig
from klantroef_http.security import provide_claims, provide_optional_claims

T = TypeVar("T")

UseCaseFactories = Mapping[str, Callable[[], object]]
"""Use-case factories by the parameter name handlers use (``signup``, ``record_view``, ...)."""


def _per_request(factory: Callable[[], T]) -> Provide:
    def build() -> T:
        return factory()

    return Provide(build, sync_to_thread=False)


def dependencies(use_cases: UseCaseFactories, config: HttpConfig) -> dict[str, Provide]:
    """The app's dependencies: the use cases, who is asking, and the HTTP settings."""

    def client_ip(request: Request[Any, Any, Any]) -> str:
        """The client's address: the peer, or behind trusted proxies, the forwarded one."""
        peer = request.client.host if request.client else None
        forwarded = request.headers.getall("x-forwarded-for", [])
        return config.trusted_proxies.client_ip(peer, forwarded)

    def public_base_url(request: Request[Any, Any, Any]) -> str:
        """Where links handed out point: the configured public URL, else this request's base."""
        return (config.public_base_url or str(request.base_url)).rstrip("/")

    provided = {name: _per_request(factory) for name, factory in use_cases.items()}
    provided.update(
        claims=Provide(provide_claims, sync_to_thread=False),
        optional_claims=Provide(provide_optional_claims, sync_to_thread=False),
        client_ip=Provide(client_ip, sync_to_thread=False),
        public_base_url=Provide(public_base_url, sync_to_thread=False),
    )
    return provided
