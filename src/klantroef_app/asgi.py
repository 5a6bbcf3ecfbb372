"""The ASGI application: what ``klantroef serve`` runs in each worker."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlsplit

from dependency_injector import providers
from litestar import Litestar

from klantroef_app.container import Container, bootstrap, close
from klantroef_app.settings import Settings
from klantroef_app.shutdown import GracefulShutdown
from klantroef_http import HttpConfig, UseCaseFactories, create_app


def use_cases(container: Container) -> UseCaseFactories:
    """Every per-request factory of the container, by name: what HTTP handlers ask for."""
    return {
        name: provider
        for name, provider in container.providers.items()
        if isinstance(provider, providers.Factory)
    }


def redirect_origins(settings: Settings) -> tuple[str, ...]:
    """Where a stream GET may send players: the object store, in redirect mode (else nowhere).

    The play page's policy must allow it: a redirected media load is checked
    against ``media-src`` too. On AWS, the bucket's own hosts (virtual-hosted, with
    and without the region) and the region's path-style host; never every AWS host.
    An endpoint's user and password, if any, stay out of the header.
    """
    s3 = settings.s3
    if s3 is None or not s3.redirect:
        return ()
    if s3.endpoint is None:
        return (
            f"https://{s3.bucket}.s3.{s3.region}.amazonaws.com",
            f"https://{s3.bucket}.s3.amazonaws.com",
            f"https://s3.{s3.region}.amazonaws.com",
        )
    parts = urlsplit(s3.endpoint)
    port = f":{parts.port}" if parts.port else ""
    return (f"{parts.scheme}://{parts.hostname}{port}",)


def build_app(container: Container | None = None) -> Litestar:
    """The app over ``container`` (default: one bootstrapped from ``KLANTROEF_*`` variables)."""
    if container is None:
        container = bootstrap()
    settings = container.settings()
    config = HttpConfig(
        trusted_proxies=container.trusted_proxies(),
        public_base_url=settings.public_base_url,
        cors_origins=frozenset(settings.cors_origins),
        media_sources=redirect_origins(settings),
    )
    return create_app(use_cases(container), config, on_shutdown=[partial(close, container)])


def build_served_app() -> GracefulShutdown:
    """What ``klantroef serve`` runs in each worker: the app, with a grace period on SIGTERM."""
    container = bootstrap()
    return GracefulShutdown(build_app(container), container.settings().shutdown_grace)
