"""Schemathesis hooks (named in schemathesis.toml): how to send what it cannot by itself.

tus bytes travel as ``application/offset+octet-stream``, raw bytes like
``application/octet-stream``; schemathesis only needs to be told so.
"""

from __future__ import annotations

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
