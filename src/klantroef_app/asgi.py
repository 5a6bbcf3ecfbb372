"""The ASGI application: what ``klantroef serve`` runs in each worker."""

from __future__ import annotations

from functools import partial
from weakref import WeakKeyDictionary

from dependency_injector import providers
from litestar import Litestar
from prometheus_client import CollectorRegistry

from klantroef_app.container import Container, bootstrap, close
from klantroef_app.logs import access_writer
from klantroef_app.metrics import metrics_renderer, worker_stopped
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
    )
    return create_app(
        use_cases(container), config, on_shutdown=[partial(close, container), worker_stopped]
    )
