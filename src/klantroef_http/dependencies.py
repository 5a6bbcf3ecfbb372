"""What handlers get besides the request: the use cases, through Litestar's dependency
injection, and what the app's HTTP settings say about the request.

Every use case the app was given is a dependency of its own name, built once per
request by its factory (so a test that overrides an adapter reaches the next
request). Handlers take one use case each: Litestar resolves several dependencies
of a handler concurrently, in a task group, which costs more than building them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from litestar import Request
from litestar.di import Provide

from klantroef_http.config import HttpConfig

T = TypeVar("T")

UseCaseFactories = Mapping[str, Callable[[], object]]
"""Use-case factories by the parameter name handlers use (``signup``, ``log_view``, ...)."""

CONFIG = "http_config"
"""Where the app's :class:`HttpConfig` lives in its state."""


def _per_request(factory: Callable[[], T]) -> Provide:
    def build() -> T:
        return factory()

    return Provide(build, sync_to_thread=False)


def dependencies(use_cases: UseCaseFactories) -> dict[str, Provide]:
    """The app's dependencies: one per use case."""
    return {name: _per_request(factory) for name, factory in use_cases.items()}


def _config(request: Request[Any, Any, Any]) -> HttpConfig:
    config: HttpConfig = request.app.state[CONFIG]
    return config


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address: the peer, or behind trusted proxies, the forwarded one."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getall("x-forwarded-for", [])
    return _config(request).trusted_proxies.client_ip(peer, forwarded)


def public_base_url(request: Request[Any, Any, Any]) -> str:
    """Where links handed out point: the configured public URL, else this request's base."""
    return (_config(request).public_base_url or str(request.base_url)).rstrip("/")


def media_sources(request: Request[Any, Any, Any]) -> tuple[str, ...]:
    """Origins besides this one that media bytes come from (the store, in redirect mode)."""
    return _config(request).media_sources
