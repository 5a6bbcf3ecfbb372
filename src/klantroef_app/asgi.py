"""The ASGI application: what ``klantroef serve`` runs in each worker."""

from __future__ import annotations

from functools import partial

from litestar import Litestar

from klantroef_app.container import Container, bootstrap, close
from klantroef_http import HttpConfig, create_app


def build_app(container: Container | None = None) -> Litestar:
    """The app over ``container`` (default: one bootstrapped from ``KLANTROEF_*`` variables)."""
    if container is None:
        container = bootstrap()
    settings = container.settings()
    config = HttpConfig(
        trusted_proxies=container.trusted_proxies(),
        public_base_url=settings.public_base_url,
    )
    return create_app(container, config, on_shutdown=[partial(close, container)])
