"""Klantroef's HTTP face: a thin Litestar app over the core's use cases.

No business rule lives here: requests become use-case calls, core errors become
RFC 9457 problem responses (one table, in :mod:`klantroef_http.problems`).
Route modules are grouped by area: :mod:`~klantroef_http.auth`,
:mod:`~klantroef_http.media`, :mod:`~klantroef_http.views`.
"""

from klantroef_http.app import create_app
from klantroef_http.config import HttpConfig
from klantroef_http.dependencies import UseCaseFactories

__all__ = ["HttpConfig", "UseCaseFactories", "create_app"]
