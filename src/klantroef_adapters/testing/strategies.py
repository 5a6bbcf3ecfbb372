"""Hypothesis strategies for the core's values, valid by the core's own rules.

Each strategy builds what the core accepts (or, where named so, what it refuses),
so a property test can range over the whole of a type instead of a few examples.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import strategies as st

from klantroef_core.domain.admin import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Email
from klantroef_core.domain.media import MAX_TITLE_LENGTH, Media, MediaType
from klantroef_core.domain.views import DayRange, View

_LABEL_CHARS = string.ascii_letters + string.digits
_LOCAL_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~."

# Zones a client's clock may be in, including ones whose local day differs from UTC's.
ZONES = (
    UTC,
    timezone(timedelta(hours=-8)),
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=14)),
)


def _label() -> st.SearchStrategy[str]:
    """One DNS label: letters and digits, hyphens inside, at most 63 characters."""
    inner = st.text(_LABEL_CHARS + "-", max_size=8)
    return st.builds(
        lambda first, middle, last: first + middle + last if last else first,
        st.sampled_from(_LABEL_CHARS),
        inner,
        st.text(_LABEL_CHARS, max_size=1),
    )


def emails() -> st.SearchStrategy[Email]:
    """Valid, normalised email addresses (lower case, a dotted domain)."""
    local = st.text(_LOCAL_CHARS, min_size=1, max_size=20)
    domain = st.lists(_label(), min_size=2, max_size=4).map(".".join)
    return st.builds(lambda a, b: Email.parse(f"{a}@{b}"), local, domain)


def passwords(*, valid: bool = True) -> st.SearchStrategy[str]:
    """Passwords the policy accepts (8 to 1024 characters), or, with ``valid=False``, refuses."""
    alphabet = st.characters(exclude_categories=["Cs"])
    if valid:
        return st.text(alphabet, min_size=MIN_PASSWORD_LENGTH, max_size=MAX_PASSWORD_LENGTH)
    too_short = st.text(alphabet, max_size=MIN_PASSWORD_LENGTH - 1)
    too_long = st.text(
        alphabet, min_size=MAX_PASSWORD_LENGTH + 1, max_size=MAX_PASSWORD_LENGTH + 64
    )
    return too_short | too_long


def titles() -> st.SearchStrategy[str]:
    """Valid titles: 1 to 200 characters, trimmed, no control characters, any script."""
    characters = st.characters(exclude_categories=("Cc", "Cs"))
    return (
        st.text(characters, min_size=1, max_size=MAX_TITLE_LENGTH)
        .map(str.strip)
        .filter(lambda title: 0 < len(title) <= MAX_TITLE_LENGTH)
    )


def moments(
    start: datetime = datetime(2020, 1, 1, tzinfo=UTC),
    span: timedelta = timedelta(days=3650),
) -> st.SearchStrategy[datetime]:
    """Timezone-aware instants within ``span`` after ``start``, to the microsecond, in any of
    :data:`ZONES`."""
    offsets = st.integers(0, int(span / timedelta(microseconds=1)) - 1)
    return st.builds(
        lambda micros, zone: (start + timedelta(microseconds=micros)).astimezone(zone),
        offsets,
        st.sampled_from(ZONES),
    )


def media_items(created: st.SearchStrategy[datetime] | None = None) -> st.SearchStrategy[Media]:
    """Valid media items with unique-looking ids and storage keys derived from them."""
    ids = st.uuids().map(str)

    def build(
        *, media_id: str, title: str, kind: MediaType, size: int, created_at: datetime, by: str
    ) -> Media:
        return Media(
            id=media_id,
            title=title,
            type=kind,
            content_type="video/mp4" if kind is MediaType.VIDEO else "audio/mpeg",
            size_bytes=size,
            sha256=hashlib.sha256(media_id.encode()).hexdigest(),
            storage_key=media_id,
            created_at=created_at,
            uploaded_by=by,
        )

    return st.builds(
        build,
        media_id=ids,
        title=titles(),
        kind=st.sampled_from(MediaType),
        size=st.integers(0, 50 * 1024**3),
        created_at=created if created is not None else moments(),
        by=ids,
    )


def client_ips() -> st.SearchStrategy[str]:
    """Client addresses as the HTTP layer hands them over: IPv4 and IPv6, compressed."""
    return st.ip_addresses(v=4).map(str) | st.ip_addresses(v=6).map(str)


def day_ranges(first_day: date = date(2025, 5, 30), days: int = 7) -> st.SearchStrategy[DayRange]:
    """Day ranges over ``days`` days from ``first_day``, either end possibly open."""
    ends = st.none() | st.integers(0, days - 1).map(lambda n: first_day + timedelta(days=n))
    return (
        st.tuples(ends, ends)
        .filter(lambda pair: not (pair[0] and pair[1] and pair[0] > pair[1]))
        .map(lambda pair: DayRange(*pair))
    )


def view_streams(
    media_ids: Sequence[str],
    *,
    start: datetime = datetime(2025, 6, 1, tzinfo=UTC),
    days: int = 4,
    clients: st.SearchStrategy[str] | None = None,
    max_size: int = 30,
) -> st.SearchStrategy[list[View]]:
    """Lists of views of ``media_ids`` over ``days`` UTC days from ``start``, from a few
    clients (repeats likely), each time given in one of :data:`ZONES`, in time order."""
    pool = clients if clients is not None else client_ips()
    client_sets = st.lists(pool, min_size=1, max_size=4, unique=True)
    span = timedelta(days=days)

    @st.composite
    def build(draw: st.DrawFn) -> list[View]:
        known = draw(client_sets)
        entries = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(list(media_ids)),
                    st.sampled_from(known),
                    moments(start, span),
                ),
                max_size=max_size,
            )
        )
        entries.sort(key=lambda entry: entry[2])
        return [View(media_id, client, moment) for media_id, client, moment in entries]

    return build()
