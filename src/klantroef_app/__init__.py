"""Klantroef assembled: the composition root, its settings, the CLI and the ASGI app.

This is the one package that knows every other: it reads the settings, picks
the adapters, builds the use cases (:mod:`klantroef_app.container`), and hands
them to the HTTP app (:mod:`klantroef_app.asgi`) or the command line
(:mod:`klantroef_app.cli`). A Python service that wants the core without HTTP
starts here too::

    from klantroef_app import in_memory
    klantroef = in_memory()
    media = await klantroef.upload_media()(...)

The names below are imported on first use, so the command line's HTTP client
commands (:mod:`klantroef_app.client_cli`) start without loading the server stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from klantroef_app.container import Container, bootstrap, in_memory
    from klantroef_app.settings import Settings, SettingsError

__all__ = ["Container", "Settings", "SettingsError", "bootstrap", "in_memory"]

_HOMES = {
    "Container": "klantroef_app.container",
    "bootstrap": "klantroef_app.container",
    "in_memory": "klantroef_app.container",
    "Settings": "klantroef_app.settings",
    "SettingsError": "klantroef_app.settings",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'klantroef_app' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
