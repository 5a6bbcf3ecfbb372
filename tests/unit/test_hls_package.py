"""HlsPackage: the playlist it writes, its part lookup, and what it refuses to be."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klantroef_core.domain.hls import HlsPackage, HlsPart, segment_name
from klantroef_core.errors import InvalidInput

HASH = "ab" * 32


def package(*durations: float) -> HlsPackage:
    init = HlsPart("init.mp4", "k.hls.r.init.mp4", 800, HASH)
    segments = tuple(
        HlsPart(segment_name(i), f"k.hls.r.{segment_name(i)}", 1000 + i, HASH, d)
        for i, d in enumerate(durations)
    )
    return HlsPackage("video/mp4", init, segments)


def test_the_playlist_is_a_vod_media_playlist_with_every_uri_made_by_the_caller() -> None:
    text = package(4.0, 4.04, 1.5).playlist(lambda name: f"{name}?token=T")

    assert text == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:7\n"
        "#EXT-X-TARGETDURATION:5\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MAP:URI="init.mp4?token=T"\n'
        "#EXTINF:4.000000,\n"
        "seg-00000.m4s?token=T\n"
        "#EXTINF:4.040000,\n"
        "seg-00001.m4s?token=T\n"
        "#EXTINF:1.500000,\n"
        "seg-00002.m4s?token=T\n"
        "#EXT-X-ENDLIST\n"
    )


def test_the_target_duration_is_the_longest_segment_rounded_up() -> None:
    assert package(4.0, 4.0).target_duration == 4
    assert package(4.0001, 2.0).target_duration == 4  # within a millisecond: FFmpeg's rounding
    assert package(4.2).target_duration == 5
    assert package(0.2).target_duration == 1


def test_parts_are_found_by_their_public_names_only() -> None:
    made = package(4.0, 4.0)
    assert made.part("init.mp4") == made.init
    assert made.part("seg-00001.m4s") == made.segments[1]
    assert made.part("seg-00002.m4s") is None
    assert made.part(made.segments[0].key) is None


@given(st.text(max_size=80))
def test_no_other_name_opens_a_part(name: str) -> None:
    made = package(4.0, 4.0, 4.0)
    if name in {"init.mp4", "seg-00000.m4s", "seg-00001.m4s", "seg-00002.m4s"}:
        assert made.part(name) is not None
    else:
        assert made.part(name) is None


def test_a_package_is_numbered_without_gaps_and_of_an_mp4_type() -> None:
    init = HlsPart("init.mp4", "k", 1, HASH)
    one = HlsPart(segment_name(1), "k1", 1, HASH, 4.0)
    with pytest.raises(InvalidInput):
        HlsPackage("video/mp4", init, (one,))
    with pytest.raises(InvalidInput):
        HlsPackage("video/mp4", init, ())
    with pytest.raises(InvalidInput):
        HlsPackage("video/webm", init, (HlsPart(segment_name(0), "k0", 1, HASH, 4.0),))
    with pytest.raises(InvalidInput):
        HlsPart("../secrets.json", "k", 1, HASH)
    with pytest.raises(InvalidInput):
        HlsPart(segment_name(0), "k", 1, HASH, float("nan"))
