"""Deciding a stream answer (status, headers, bytes) and naming the file, without a server."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klantroef_core.domain.media import MAX_TITLE_LENGTH
from klantroef_core.errors import RangeNotSatisfiable
from klantroef_http.media.ranges import ByteRange
from klantroef_http.media.streaming import content_disposition, plan_stream
from tests.factories import make_media

ITEM = make_media(size_bytes=1000)


def test_a_plain_get_is_the_whole_file() -> None:
    plan = plan_stream(ITEM, "GET", {})
    assert (plan.status, plan.byte_range) == (200, ByteRange(0, 999))
    assert plan.headers["content-length"] == "1000"
    assert plan.whole_file


def test_a_range_is_206_and_not_the_whole_file() -> None:
    plan = plan_stream(ITEM, "GET", {"range": "bytes=10-"})
    assert (plan.status, plan.byte_range) == (206, ByteRange(10, 999))
    assert plan.headers["content-range"] == "bytes 10-999/1000"
    assert not plan.whole_file


def test_an_unsatisfiable_range_raises_with_the_size() -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        plan_stream(ITEM, "GET", {"range": "bytes=1000-"})
    assert caught.value.size == 1000


def test_head_ignores_range_and_if_none_match_wins_over_range() -> None:
    assert plan_stream(ITEM, "HEAD", {"range": "bytes=1000-"}).status == 200
    plan = plan_stream(ITEM, "GET", {"range": "bytes=1000-", "if-none-match": ITEM.etag})
    assert (plan.status, plan.byte_range) == (304, None)
    assert "content-length" not in plan.headers
    assert plan.headers["etag"] == ITEM.etag


def test_an_empty_file_has_no_bytes_to_send() -> None:
    plan = plan_stream(make_media(size_bytes=0), "GET", {})
    assert (plan.status, plan.byte_range, plan.headers["content-length"]) == (200, None, "0")


@pytest.mark.parametrize(
    ("title", "content_type", "expected"),
    [
        (
            "Opening night",
            "video/mp4",
            "inline; filename=\"Opening night.mp4\"; filename*=UTF-8''Opening%20night.mp4",
        ),
        ("song.mp3", "audio/mpeg", "inline; filename=\"song.mp3\"; filename*=UTF-8''song.mp3"),
        ("Zoë", "audio/flac", "inline; filename=\"Zo_.flac\"; filename*=UTF-8''Zo%C3%AB.flac"),
        (
            'a "quoted" \\ 50%',
            "video/webm",
            "inline; filename=\"a _quoted_ _ 50_.webm\"; filename*=UTF-8''a%20%22quoted%22%20%5C%2050%25.webm",
        ),
        (
            "日本語",
            "video/x-unknown",
            "inline; filename=\"___\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E",
        ),
    ],
)
def test_the_title_is_offered_as_an_inline_file_name(
    title: str, content_type: str, expected: str
) -> None:
    assert content_disposition(title, content_type) == expected


ATTR_VALUE = re.compile(r"[A-Za-z0-9!#$&+\-.^_`|~%]*")  # RFC 8187 value-chars


@given(st.text(min_size=1, max_size=MAX_TITLE_LENGTH).filter(lambda t: t.isprintable()))
def test_any_title_makes_a_safe_header_that_round_trips(title: str) -> None:
    header = content_disposition(title, "video/mp4")

    header.encode("ascii")  # header values on the wire: ASCII only
    assert "\r" not in header
    assert "\n" not in header
    match = re.fullmatch(r'inline; filename="([ !#-\[\]-~]*)"; filename\*=UTF-8\'\'(.*)', header)
    assert match is not None
    assert ATTR_VALUE.fullmatch(match[2])
    assert unquote(match[2], errors="strict") in (title, title + ".mp4")
