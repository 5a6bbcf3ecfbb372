"""URLs of a store's own through which players fetch media bytes without the service."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class DirectLinks(Protocol):
    """A blob store that can hand out short-lived URLs to a blob (S3's presigned GETs).

    Promises (checked against the S3 store in ``tests/contract/test_s3_media_storage.py``):

    - ``direct_url`` returns a URL that GETs exactly the blob's bytes, Range
      requests included, without credentials;
    - the store refuses that URL after ``expires_at``, never later: the URL lives
      whole seconds, counted down from the moment it is made;
    - it returns None when fewer than one whole second remain before ``expires_at``;
    - it makes no request: a missing blob is only noticed by the GET.
    """

    async def direct_url(self, key: str, expires_at: datetime, *, content_type: str) -> str | None:
        """A URL that serves the blob under ``key`` as ``content_type`` until ``expires_at``."""
        ...
