"""The ASGI application: what ``klantroef serve`` runs in each worker."""

from __future__ import annotations

import gc
from functools import partial
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from dependency_injector import providers
from litestar import Litestar
from prometheus_client import CollectorRegistry

from klantroef_app.container import Container, bootstrap, close
from klantroef_app.logs import access_writer
from klantroef_app.metrics import metrics_renderer, worker_stopped
from klantroef_app.settings import Settings
from klantroef_app.shutdown import GracefulShutdown
from klantroef_http import HttpConfig, UseCaseFactories, create_app
from klantroef_http.config import AllowList
from klantroef_http.observability import HttpMetrics


def use_cases(container: Container) -> UseCaseFactories:
    """Every per-request factory of the container, by name: what HTTP handlers ask for."""
    return {
        name: provider
        for name, provider in container.providers.items()
        if isinstance(provider, providers.Factory)
    }


_http_metrics: WeakKeyDictionary[CollectorRegistry, HttpMetrics] = WeakKeyDictionary()
_worker_http_metrics: list[HttpMetrics] = []


def http_metrics(registry: CollectorRegistry | None) -> HttpMetrics:
    """The HTTP metrics kept in ``registry`` (None: this worker's files), made once for each:
    two apps over one container (a test's) count into the same metrics."""
    if registry is None:
        if not _worker_http_metrics:
            _worker_http_metrics.append(HttpMetrics(None))
        return _worker_http_metrics[0]
    metrics = _http_metrics.get(registry)
    if metrics is None:
        metrics = _http_metrics[registry] = HttpMetrics(registry)
    return metrics


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
    registry = container.metrics_registry()
    container.domain_metrics()  # made now, so a scrape shows every counter from the start
    config = HttpConfig(
        trusted_proxies=container.trusted_proxies(),
        public_base_url=settings.public_base_url,
        metrics=http_metrics(registry),
        render_metrics=metrics_renderer(registry),
        metrics_allow=AllowList.parse(settings.metrics_allow),
        client_label=container.client_identity().of,
        write_access=access_writer(),
        cors_origins=frozenset(settings.cors_origins),
        media_sources=redirect_origins(settings),
    )
    return create_app(
        use_cases(container), config, on_shutdown=[partial(close, container), worker_stopped]
    )


def build_served_app() -> GracefulShutdown:
    """What ``klantroef serve`` runs in each worker: the app, with a grace period on SIGTERM.

    Everything built so far (the modules, the app, its routes and schemas: about a
    million objects) lives as long as the worker, so it is moved out of the garbage
    collector's reach (``gc.freeze``): a full collection no longer walks it, which
    under load cost a quarter of a cached analytics read's CPU.
    """
    container = bootstrap()
    served = GracefulShutdown(build_app(container), container.settings().shutdown_grace)
    gc.collect()
    gc.freeze()
    return served
