"""Blob storage adapters for media bytes (the ``MediaStorage`` port)."""

from klantroef_adapters.storage.keys import check_key
from klantroef_adapters.storage.local import LocalMediaStorage

__all__ = ["LocalMediaStorage", "check_key"]
