"""Klantroef assembled: the composition root, its settings, the CLI and the ASGI app.

This is the one package that knows every other: it reads the settings, picks
the adapters, builds the use cases (:mod:`klantroef_app.container`), and hands
them to the HTTP app (:mod:`klantroef_app.asgi`) or the command line
(:mod:`klantroef_app.cli`). A Python service that wants the core without HTTP
starts here too::

    from klantroef_app import in_memory
    klantroef = in_memory()
    media = await klantroef.upload_media()(...)
"""

from klantroef_app.container import Container, bootstrap, in_memory
from klantroef_app.settings import Settings, SettingsError

__all__ = ["Container", "Settings", "SettingsError", "bootstrap", "in_memory"]
