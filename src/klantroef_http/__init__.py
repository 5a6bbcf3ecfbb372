"""Klantroef's HTTP face: a thin Litestar app over the core's use cases.

No business rule lives here: requests become use-case calls, core errors become
RFC 9457 problem responses (one table, in :mod:`klantroef_http.problems`).
"""

from klantroef_http.app import create_app
from klantroef_http.services import HttpConfig, Services

__all__ = ["HttpConfig", "Services", "create_app"]
