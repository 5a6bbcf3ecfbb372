"""The tus 1.0.0 wire format: headers in, headers out. No rule lives here.

What an offset must be, how long an upload may be, who may touch it and when it
expires are the core's (``klantroef_core.use_cases.resumable_upload``); this
module only turns headers into values (a malformed one is a 400) and values
into headers.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from email.utils import format_datetime

from litestar.exceptions import HTTPException

from klantroef_core.errors import BadRequest, UnsupportedMediaType
from klantroef_core.use_cases.resumable_upload import UploadProgress

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,expiration"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA_HEADER = 4096
_B64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
_PAIR = rf"[!-+\--~]+(?: {_B64})?"
METADATA_PATTERN = rf"^{_PAIR}(?:,{_PAIR})*$"
"""Upload-Metadata as tus defines it: comma-separated keys, each with an optional base64 value."""

MAX_INTEGER = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}", re.ASCII)
_KEY = re.compile(r"[!-+\--~]+", re.ASCII)  # visible ASCII without the comma


def check_version(headers: Mapping[str, str]) -> None:
    """400 without ``Tus-Resumable``; 412 (with ``Tus-Version``) for a version other than 1.0.0."""
    sent = headers.get("tus-resumable")
    if sent is None:
        raise BadRequest("Tus-Resumable is required (1.0.0)", code="tus_resumable_missing")
    if sent != TUS_VERSION:
        raise HTTPException(
            status_code=412,
            detail=f"Tus-Resumable must be {TUS_VERSION} (got {sent or 'none'})",
            headers={"Tus-Version": TUS_VERSION, "Tus-Resumable": TUS_VERSION},
        )


def header_integer(headers: Mapping[str, str], name: str, code: str) -> int:
    """A required non-negative integer header, or 400 ``code``."""
    value = optional_integer(headers, name, code)
    if value is None:
        raise BadRequest(f"{name} is required", code=code)
    return value


def optional_integer(headers: Mapping[str, str], name: str, code: str) -> int | None:
    """An optional non-negative integer header (None when absent), or 400 ``code``."""
    raw = headers.get(name.lower())
    if raw is None:
        return None
    if not _DIGITS.fullmatch(raw.strip()) or int(raw.strip()) > MAX_INTEGER:
        raise BadRequest(f"{name} must be an integer from 0 to {MAX_INTEGER}", code=code)
    return int(raw.strip())


def parse_metadata(raw: str | None, known: frozenset[str]) -> dict[str, str]:
    """``Upload-Metadata``: ``key base64,key base64,...`` (values optional, keys unique).

    400 ``bad_metadata`` for a malformed header, ``metadata_too_long`` for one
    over 4 KiB. Only the ``known`` keys are decoded (their values must be base64
    of UTF-8 text) and returned; others are checked for form and ignored.
    """
    if raw is None or not raw.strip():
        return {}
    if len(raw) > MAX_METADATA_HEADER:
        raise BadRequest(
            f"Upload-Metadata is longer than {MAX_METADATA_HEADER} characters",
            code="metadata_too_long",
        )
    pairs: dict[str, str] = {}
    seen: set[str] = set()
    for item in raw.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not _KEY.fullmatch(key) or key in seen or " " in encoded.strip():
            raise BadRequest(f"Upload-Metadata is malformed at {key!r}", code="bad_metadata")
        seen.add(key)
        if key not in known:
            continue
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadRequest(
                f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text",
                code="bad_metadata",
            ) from None
    return pairs


def encode_metadata(pairs: Mapping[str, str | None]) -> str:
    """The ``Upload-Metadata`` a HEAD answers with: the known values, base64."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in pairs.items()
        if value is not None
    )


def check_offset_body(headers: Mapping[str, str]) -> None:
    """415 unless the body is ``application/offset+octet-stream``."""
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != OFFSET_CONTENT_TYPE:
        raise UnsupportedMediaType(
            f"tus bytes are sent as {OFFSET_CONTENT_TYPE}", code="bad_content_type"
        )


def progress_headers(progress: UploadProgress) -> dict[str, str]:
    """``Upload-Offset``, ``Upload-Expires`` and, once it is an item, where the item is."""
    session = progress.session
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(session.offset),
        "Cache-Control": "no-store",
    }
    if session.media_id is not None:
        headers["Content-Location"] = f"/media/{session.media_id}"
    else:
        headers["Upload-Expires"] = format_datetime(session.expires_at, usegmt=True)
    return headers
