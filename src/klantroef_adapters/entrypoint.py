"""Building the ASGI app from the environment: what ``klantroef serve`` runs in each worker."""

from __future__ import annotations

from functools import partial

from litestar import Litestar

from klantroef_adapters.container import Container, close
from klantroef_adapters.settings import Settings
from klantroef_http import HttpConfig, create_app


def build_app(container: Container | None = None) -> Litestar:
    """The app over ``container`` (default: one built from ``KLANTROEF_*`` variables)."""
    if container is None:
        container = Container(settings=Settings.from_env())
    settings: Settings = container.settings()
    config = HttpConfig(
        trusted_proxies=container.trusted_proxies(),
        public_base_url=settings.public_base_url,
    )
    return create_app(container, config, on_shutdown=[partial(close, container)])
