"""Byte ranges and validators for ``GET /media/{id}/stream`` (RFC 9110 sections 13 and 14).

Pure functions over header values, so every rule is tested without a server.

``parse_range`` answers one of three ways: ``None`` (send the whole file, 200), a
``ByteRange`` (send that slice, 206) or ``UNSATISFIABLE`` (416 with
``Content-Range: bytes */size``). RFC 9110 lets a server ignore a Range header, and
we do so for one that is malformed, names a unit other than ``bytes``, is longer than
``MAX_RANGE_HEADER`` characters, or asks for more than one range. Players seek with a
single range; answering several with multipart/byteranges would buy nothing for them
and open the door to many-small-ranges abuse, so a multi-range request gets the whole
file with 200, which every client must accept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

MAX_RANGE_HEADER: Final = 1000
"""A Range header longer than this is ignored rather than parsed."""

_INT_RANGE = re.compile(r"([0-9]+)-([0-9]*)", re.ASCII)
_SUFFIX_RANGE = re.compile(r"-([0-9]+)", re.ASCII)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", re.ASCII)
_OWS = " \t"

_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = f"(?P<month>{'|'.join(_MONTHS)})"
_TIME = "(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
_HTTP_DATES = tuple(  # IMF-fixdate, then the obsolete rfc850-date and asctime-date
    re.compile(pattern, re.ASCII)
    for pattern in (
        rf"{_DAY}, (?P<day>[0-9]{{2}}) {_MONTH} (?P<year>[0-9]{{4}}) {_TIME} GMT",
        rf"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?P<day>[0-9]{{2}})-{_MONTH}-"
        rf"(?P<year>[0-9]{{2}}) {_TIME} GMT",
        rf"{_DAY} {_MONTH} (?P<day>[0-9]{{2}}| [0-9]) {_TIME} (?P<year>[0-9]{{4}})",
    )
)


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A satisfiable range: bytes ``start`` through ``end``, both inclusive."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"not a byte range: {self.start}-{self.end}")

    @property
    def length(self) -> int:
        """How many bytes the range holds: the Content-Length of the 206."""
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        """The Content-Range value of the 206 for a representation of ``size`` bytes."""
        return f"bytes {self.start}-{self.end}/{size}"


@dataclass(frozen=True, slots=True)
class Unsatisfiable:
    """A well-formed single range that selects no byte of the file: answer 416."""

    @staticmethod
    def content_range(size: int) -> str:
        """The Content-Range value of the 416 for a representation of ``size`` bytes."""
        return f"bytes */{size}"


UNSATISFIABLE: Final = Unsatisfiable()


def parse_range(header: str | None, size: int) -> ByteRange | Unsatisfiable | None:
    """What a Range header asks of a representation of ``size`` bytes (see the module doc).

    Ends past the file are clamped to its last byte; a suffix longer than the file
    selects all of it; a first byte at or past the end, a zero-length suffix, or any
    range of an empty file is unsatisfiable.
    """
    if size < 0:
        raise ValueError("size must not be negative")
    if header is None or len(header) > MAX_RANGE_HEADER:
        return None
    unit, equals, range_set = header.strip(_OWS).partition("=")
    if not equals or not _TOKEN.fullmatch(unit) or unit.lower() != "bytes":
        return None
    # A list (1#range-spec) may carry empty elements and OWS around its commas.
    specs = [spec.strip(_OWS) for spec in range_set.split(",")]
    specs = [spec for spec in specs if spec]
    if len(specs) != 1:
        return None
    return _parse_spec(specs[0], size)


def _parse_spec(spec: str, size: int) -> ByteRange | Unsatisfiable | None:
    if suffix := _SUFFIX_RANGE.fullmatch(spec):
        length = int(suffix[1])
        if length == 0 or size == 0:
            return UNSATISFIABLE
        return ByteRange(max(0, size - length), size - 1)
    if not (int_range := _INT_RANGE.fullmatch(spec)):
        return None
    first = int(int_range[1])
    last = int(int_range[2]) if int_range[2] else None
    if last is not None and last < first:
        return None
    if first >= size:
        return UNSATISFIABLE
    return ByteRange(first, size - 1 if last is None else min(last, size - 1))


def if_range_allows_partial(if_range: str | None, etag: str, last_modified: datetime) -> bool:
    """Whether a Range may be honoured under an If-Range header (RFC 9110 13.1.5).

    No If-Range allows it. An entity tag must match ``etag`` by strong comparison, so a
    weak tag never does; an HTTP-date must equal ``last_modified`` to the second. A
    value that is neither never matches, and the whole file is sent.
    """
    if if_range is None:
        return True
    value = if_range.strip(_OWS)
    if value.startswith(('"', "W/")):
        return not etag.startswith("W/") and _entity_tags(value) == [(False, etag)]
    if last_modified.tzinfo is None:
        last_modified = last_modified.replace(tzinfo=UTC)
    modified = last_modified.astimezone(UTC).replace(microsecond=0)
    # Only equality matters, so the year of last_modified can stand in for "now" when
    # a two-digit rfc850 year is read: it picks that year whenever the digits agree.
    return _parse_http_date(value, modified.year) == modified


def etag_matches_if_none_match(header: str | None, etag: str) -> bool:
    """Whether If-None-Match names ``etag`` by weak comparison (or is ``*``): answer 304.

    A malformed header matches nothing, so the representation is sent as usual.
    """
    if header is None:
        return False
    value = header.strip(_OWS)
    if value == "*":
        return True
    tags = _entity_tags(value)
    opaque = etag.removeprefix("W/")
    return tags is not None and any(tag == opaque for _, tag in tags)


def _entity_tags(value: str) -> list[tuple[bool, str]] | None:
    """A comma list of entity tags as (weak, opaque tag with quotes), or None if malformed.

    The opaque tag may itself contain commas, so the list is scanned, not split.
    """
    tags: list[tuple[bool, str]] = []
    pos, end = 0, len(value)
    while pos < end:
        if value[pos] in _OWS + ",":
            pos += 1
            continue
        weak = value.startswith("W/", pos)
        start = pos + 2 if weak else pos
        if not value.startswith('"', start):
            return None
        close = value.find('"', start + 1)
        if close < 0:
            return None
        opaque = value[start : close + 1]
        if any(ch == "\x7f" or ord(ch) < 0x21 for ch in opaque):
            return None
        tags.append((weak, opaque))
        pos = close + 1
        while pos < end and value[pos] in _OWS:
            pos += 1
        if pos < end and value[pos] != ",":
            return None
    return tags or None


def _parse_http_date(value: str, reference_year: int) -> datetime | None:
    """An HTTP-date in any of its three forms, or None.

    A two-digit rfc850 year is read as RFC 9110 5.6.7 asks, with ``reference_year``
    standing for the present: never more than 50 years ahead of it.
    """
    for pattern in _HTTP_DATES:
        if match := pattern.fullmatch(value):
            year = int(match["year"])
            if len(match["year"]) == 2:
                # The latest year with these two digits no more than 50 years ahead.
                year += (reference_year + 50 - year) // 100 * 100
            try:
                return datetime(
                    year,
                    _MONTHS.index(match["month"]) + 1,
                    int(match["day"]),
                    int(match["hour"]),
                    int(match["minute"]),
                    int(match["second"]),
                    tzinfo=UTC,
                )
            except ValueError:  # 31 Feb, 25:00, a leap second
                return None
    return None
