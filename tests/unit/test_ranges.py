"""RFC 9110 byte ranges, If-Range and If-None-Match, by example and by property."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klantroef_http.media.ranges import (
    MAX_RANGE_HEADER,
    UNSATISFIABLE,
    ByteRange,
    Unsatisfiable,
    etag_matches_if_none_match,
    if_range_allows_partial,
    parse_range,
)

ETAG = '"5f2b9c0e"'
MODIFIED = datetime(2024, 5, 6, 7, 8, 9, 654321, tzinfo=UTC)

# --- Range: examples ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-499", 10_000, ByteRange(0, 499)),
        ("bytes=500-999", 10_000, ByteRange(500, 999)),
        ("bytes=9500-", 10_000, ByteRange(9500, 9999)),
        ("bytes=-500", 10_000, ByteRange(9500, 9999)),
        ("bytes=0-0", 10_000, ByteRange(0, 0)),
        ("bytes=-1", 10_000, ByteRange(9999, 9999)),
        ("bytes=0-", 1, ByteRange(0, 0)),
        ("bytes=0-99999", 100, ByteRange(0, 99)),
        ("bytes=50-1000", 100, ByteRange(50, 99)),
        ("bytes=-200", 100, ByteRange(0, 99)),
        ("bytes=-100", 100, ByteRange(0, 99)),
        ("bytes=99-99", 100, ByteRange(99, 99)),
        ("bytes=007-010", 100, ByteRange(7, 10)),
    ],
)
def test_a_single_satisfiable_range_is_served_with_its_ends_clamped(
    header: str, size: int, expected: ByteRange
) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=100-", 100),
        ("bytes=100-200", 100),
        ("bytes=1000-2000", 100),
        ("bytes=-0", 100),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-5", 0),
        ("bytes=-0", 0),
        ("bytes=" + "9" * 900 + "-", 100),
    ],
)
def test_a_range_that_selects_no_byte_is_unsatisfiable(header: str, size: int) -> None:
    assert parse_range(header, size) is UNSATISFIABLE


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes",
        "bytes=",
        "=0-5",
        "bytes=abc",
        "bytes=5-4",
        "bytes=-",
        "bytes=--5",
        "bytes=5--10",
        "bytes=+5-10",
        "bytes=0x10-20",
        "bytes=1_000-2000",
        "bytes=\u0663-5",  # an Arabic-Indic digit three: not an ASCII DIGIT
        "bytes=0-5;",
        "bytes = 0-5",
        "bytes=0 - 5",
        "bytes=0-5 6",
        "bytes=,",
        "bytes=, ,",
        "bytes=0-5\n",
        "by tes=0-5",
        "items=0-5",
        "none=0-5",
        "bytes=0-5, 10-15",
        "bytes=0-5,10-15",
        "bytes=-5,0-1",
        "bytes=0-1,2-3,4-5",
        "bytes=200-300, 400-500",  # several ranges, even all unsatisfiable: whole file
    ],
)
def test_a_malformed_foreign_or_multiple_range_is_ignored(header: str | None) -> None:
    assert parse_range(header, 100) is None


@pytest.mark.parametrize(
    "header",
    [
        "Bytes=10-20",
        "BYTES=10-20",
        "bytes= 10-20",
        "bytes=10-20\t",
        "bytes=10-20, ",
        "bytes=, 10-20 ,,",
    ],
)
def test_the_unit_is_case_insensitive_and_whitespace_around_list_elements_is_allowed(
    header: str,
) -> None:
    assert parse_range(header, 100) == ByteRange(10, 20)


def test_surrounding_whitespace_of_the_field_value_is_ignored() -> None:
    assert parse_range("  bytes=10-20 ", 100) == ByteRange(10, 20)


def test_a_huge_last_position_is_clamped_to_the_last_byte() -> None:
    assert parse_range("bytes=3-" + "9" * 900, 100) == ByteRange(3, 99)


def test_a_header_longer_than_the_cap_is_ignored_before_parsing() -> None:
    header = "bytes=0-" + "9" * MAX_RANGE_HEADER
    assert len(header) > MAX_RANGE_HEADER
    assert parse_range(header, 100) is None


def test_a_negative_size_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_range("bytes=0-1", -1)


def test_a_byte_range_knows_its_length_and_content_range() -> None:
    chosen = ByteRange(500, 999)
    assert chosen.length == 500
    assert chosen.content_range(10_000) == "bytes 500-999/10000"


def test_an_unsatisfiable_range_gives_the_star_content_range() -> None:
    assert UNSATISFIABLE.content_range(8000) == "bytes */8000"
    assert isinstance(UNSATISFIABLE, Unsatisfiable)


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, 4), (-3, -1)])
def test_a_byte_range_cannot_be_built_backwards_or_negative(start: int, end: int) -> None:
    with pytest.raises(ValueError):
        ByteRange(start, end)


# --- Range: properties ----------------------------------------------------------------------


@dataclass(frozen=True)
class IntRange:
    first: int
    last: int | None

    def render(self) -> str:
        return f"{self.first}-" if self.last is None else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class SuffixRange:
    length: int

    def render(self) -> str:
        return f"-{self.length}"


Spec = IntRange | SuffixRange
IGNORED = "ignored"


def naive(spec: Spec, size: int) -> range | Unsatisfiable | str:
    """What a reader of RFC 9110 would select, written with Python slices."""
    data = range(size)
    if isinstance(spec, SuffixRange):
        return UNSATISFIABLE if spec.length == 0 or size == 0 else data[-spec.length :]
    if spec.last is not None and spec.last < spec.first:
        return IGNORED
    if spec.first >= size:
        return UNSATISFIABLE
    return data[spec.first :] if spec.last is None else data[spec.first : spec.last + 1]


sizes = st.integers(0, 10_000)
positions = st.integers(0, 12_000) | st.integers(0, 10**40)
specs: st.SearchStrategy[Spec] = st.one_of(
    st.builds(IntRange, positions, st.none() | positions),
    st.builds(SuffixRange, positions),
)
ows = st.sampled_from(["", " ", "\t", "  ", " \t"])
units = st.sampled_from(["bytes", "Bytes", "BYTES", "bYtEs"])


@st.composite
def well_formed_headers(draw: st.DrawFn, spec: Spec) -> str:
    """``spec`` as a header, with any unit case and the whitespace and empty elements allowed."""
    before = draw(st.sampled_from(["", ",", ", ,"]))
    after = draw(st.sampled_from(["", ",", " , "]))
    return f"{draw(units)}={before}{draw(ows)}{spec.render()}{draw(ows)}{after}"


def check_shape(result: ByteRange | Unsatisfiable | None, size: int) -> None:
    assert result is None or isinstance(result, ByteRange | Unsatisfiable)
    if isinstance(result, ByteRange):
        assert 0 <= result.start <= result.end < size


@given(sizes, specs, st.data())
def test_a_well_formed_single_range_selects_what_the_naive_reading_selects(
    size: int, spec: Spec, data: st.DataObject
) -> None:
    header = data.draw(well_formed_headers(spec))
    result = parse_range(header, size)
    check_shape(result, size)
    expected = naive(spec, size)
    if expected == IGNORED:
        assert result is None
    elif isinstance(expected, Unsatisfiable):
        assert result is UNSATISFIABLE
    else:
        assert isinstance(result, ByteRange)
        assert range(size)[result.start : result.end + 1] == expected
        assert result.length == len(expected)


@given(sizes, st.lists(specs, min_size=2, max_size=5), ows)
def test_several_ranges_are_answered_with_the_whole_file(
    size: int, many: list[Spec], space: str
) -> None:
    header = "bytes=" + f"{space},{space}".join(spec.render() for spec in many)
    assert parse_range(header, size) is None


range_alphabet = st.sampled_from(list("bytesBYTES=-,0123456789 \t;x*"))


@given(
    sizes,
    st.text(max_size=60)
    | st.text(range_alphabet, max_size=40)
    | st.builds("bytes={}".format, st.text(range_alphabet, max_size=30)),
)
def test_any_header_gives_one_of_the_three_answers_and_a_range_inside_the_file(
    size: int, header: str
) -> None:
    check_shape(parse_range(header, size), size)


@given(sizes, st.text(min_size=MAX_RANGE_HEADER + 1, max_size=MAX_RANGE_HEADER + 50))
def test_any_header_over_the_cap_is_ignored(size: int, header: str) -> None:
    assert parse_range(header, size) is None


# --- If-Range --------------------------------------------------------------------------------


def test_without_if_range_a_partial_answer_is_allowed() -> None:
    assert if_range_allows_partial(None, ETAG, MODIFIED)


@pytest.mark.parametrize(
    ("if_range", "allowed"),
    [
        (ETAG, True),
        (f" {ETAG} ", True),
        ('"something-else"', False),
        (f"W/{ETAG}", False),
        (f"{ETAG}, {ETAG}", False),
        (ETAG[:-1], False),
        ('"5f2b9c0e', False),
        ("", False),
        ("*", False),
        ("5f2b9c0e", False),
    ],
)
def test_an_entity_tag_in_if_range_must_match_strongly(if_range: str, allowed: bool) -> None:
    assert if_range_allows_partial(if_range, ETAG, MODIFIED) is allowed


def test_a_weak_current_entity_tag_never_matches_if_range() -> None:
    assert not if_range_allows_partial(ETAG, f"W/{ETAG}", MODIFIED)
    assert not if_range_allows_partial(f"W/{ETAG}", f"W/{ETAG}", MODIFIED)


@pytest.mark.parametrize(
    "if_range",
    [
        "Mon, 06 May 2024 07:08:09 GMT",  # IMF-fixdate
        "Monday, 06-May-24 07:08:09 GMT",  # obsolete RFC 850
        "Mon May  6 07:08:09 2024",  # obsolete asctime
    ],
)
def test_an_http_date_equal_to_last_modified_to_the_second_allows_a_partial_answer(
    if_range: str,
) -> None:
    assert if_range_allows_partial(if_range, ETAG, MODIFIED)


@pytest.mark.parametrize(
    "if_range",
    [
        "Mon, 06 May 2024 07:08:10 GMT",
        "Mon, 06 May 2024 07:08:08 GMT",
        "Mon, 06 May 2124 07:08:09 GMT",
        "Monday, 06-May-23 07:08:09 GMT",
        "Mon May  6 07:08:09 2023",
        "Mon, 06 May 2024 07:08:09 UTC",
        "Mon, 06 May 2024 07:08:09 gmt",
        "mon, 06 may 2024 07:08:09 GMT",
        "Mon, 6 May 2024 07:08:09 GMT",
        "Mon, 06 May 2024 07:08:09 +0000",
        "2024-05-06T07:08:09Z",
        "Mon, 31 Feb 2024 07:08:09 GMT",
        "Mon, 06 May 2024 24:00:00 GMT",
        "Mon, 06 May 2024 23:59:60 GMT",
        "Mon, 06 Foo 2024 07:08:09 GMT",
        "yesterday",
    ],
)
def test_any_other_date_or_an_unparsable_value_refuses_a_partial_answer(if_range: str) -> None:
    assert not if_range_allows_partial(if_range, ETAG, MODIFIED)


def test_last_modified_in_another_zone_is_compared_as_the_same_instant() -> None:
    in_amsterdam = MODIFIED.astimezone(timezone(timedelta(hours=2)))
    assert if_range_allows_partial("Mon, 06 May 2024 07:08:09 GMT", ETAG, in_amsterdam)


def test_a_naive_last_modified_is_taken_as_utc() -> None:
    naive_modified = MODIFIED.replace(tzinfo=None)
    assert if_range_allows_partial("Mon, 06 May 2024 07:08:09 GMT", ETAG, naive_modified)


@pytest.mark.parametrize(
    ("modified", "if_range"),
    [
        (datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC), "Sunday, 06-Nov-94 08:49:37 GMT"),
        (datetime(2070, 1, 1, tzinfo=UTC), "Wednesday, 01-Jan-70 00:00:00 GMT"),
        (datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC), "Sat Feb  3 04:05:06 2001"),
        (datetime(2001, 2, 13, 4, 5, 6, tzinfo=UTC), "Tue Feb 13 04:05:06 2001"),
    ],
)
def test_the_obsolete_date_forms_are_accepted(modified: datetime, if_range: str) -> None:
    assert if_range_allows_partial(if_range, ETAG, modified)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(9999, 12, 30),
        timezones=st.just(UTC),
    )
)
def test_last_modified_written_by_the_standard_library_matches_if_range(modified: datetime) -> None:
    header = format_datetime(modified.replace(microsecond=0), usegmt=True)
    assert if_range_allows_partial(header, ETAG, modified)
    later = format_datetime(modified.replace(microsecond=0) + timedelta(seconds=1), usegmt=True)
    assert not if_range_allows_partial(later, ETAG, modified)


@given(st.text(max_size=80))
def test_if_range_never_raises(if_range: str) -> None:
    assert isinstance(if_range_allows_partial(if_range, ETAG, MODIFIED), bool)


# --- If-None-Match ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("*", True),
        (" * ", True),
        (ETAG, True),
        (f"W/{ETAG}", True),
        (f'"a", {ETAG}', True),
        (f'W/"a",W/{ETAG}', True),
        (f'"a" ,\t{ETAG} , "b"', True),
        (f", , {ETAG}", True),
        ('"a", W/"b"', False),
        ('"5F2B9C0E"', False),
        ("5f2b9c0e", False),
        (f"{ETAG} junk", False),
        ('"5f2b9c0e', False),
        ("", False),
        ("*, " + ETAG, False),
        (f"w/{ETAG}", False),
    ],
)
def test_if_none_match_compares_entity_tags_weakly(header: str | None, matches: bool) -> None:
    assert etag_matches_if_none_match(header, ETAG) is matches


def test_a_weak_current_entity_tag_still_matches_if_none_match() -> None:
    assert etag_matches_if_none_match(ETAG, f"W/{ETAG}")


def test_an_entity_tag_may_contain_a_comma() -> None:
    assert etag_matches_if_none_match('"x", "a,b"', '"a,b"')
    assert not etag_matches_if_none_match('"a", "b"', '"a,b"')


@given(st.lists(st.text(st.characters(min_codepoint=0x23, max_codepoint=0x7E), max_size=10)))
def test_any_listed_entity_tag_matches_and_no_other(opaques: list[str]) -> None:
    header = ", ".join(f'"{opaque}"' for opaque in opaques)
    for opaque in opaques:
        assert etag_matches_if_none_match(header, f'"{opaque}"')
    assert etag_matches_if_none_match(header, '"!"') is False


@given(st.text(max_size=80))
def test_if_none_match_never_raises(header: str) -> None:
    assert isinstance(etag_matches_if_none_match(header, ETAG), bool)
