"""Content sniffing: real container headers (from tests.media_samples), and things that are not media."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klantroef_core.domain.media_kinds import SNIFF_LENGTH, SniffedKind, sniff
from tests.media_samples import (
    AAC,
    AUDIO_MP4,
    FLAC,
    MEDIA_SAMPLES,
    MP3,
    NOT_MEDIA,
    OGG_AUDIO,
    OGG_VIDEO,
    THEORA_ID,
    VIDEO_MP4,
    WAV,
    WEBM,
    adts_frames,
    ebml_header,
    ftyp,
    mpeg_frames,
    ogg_page,
    real_wav,
)


@pytest.mark.parametrize(("head", "expected"), MEDIA_SAMPLES.values(), ids=MEDIA_SAMPLES.keys())
def test_a_known_container_is_recognised_with_its_canonical_type(
    head: bytes, expected: SniffedKind
) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(("head", "expected"), MEDIA_SAMPLES.values(), ids=MEDIA_SAMPLES.keys())
def test_a_known_container_is_recognised_from_its_first_sniff_length_bytes(
    head: bytes, expected: SniffedKind
) -> None:
    padded = head + bytes(10_000)
    assert sniff(padded[:SNIFF_LENGTH]) == expected
    assert sniff(padded) == expected


@pytest.mark.parametrize("head", NOT_MEDIA.values(), ids=NOT_MEDIA.keys())
def test_anything_that_is_not_audio_or_video_gives_none(head: bytes) -> None:
    assert sniff(head) is None


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (ftyp("isom", "isom")[:16], VIDEO_MP4),
        (ftyp("M4A ")[:12], AUDIO_MP4),
        (ebml_header(b"webm")[:40], WEBM),
        (ogg_page(THEORA_ID), OGG_VIDEO),
        (b"OggS", OGG_AUDIO),
        (mpeg_frames(1, version=0, bitrate=(1, 8), rate=(2, 8000)), MP3),
        (mpeg_frames(1)[:4], MP3),
        (adts_frames(1)[:7], AAC),
        (b"fLaC", FLAC),
        (b"ID3", MP3),
        (real_wav(frames=0), WAV),
    ],
    ids=["mp4", "m4a", "webm", "ogv", "ogg", "mp3", "mp3 header", "aac", "flac", "id3", "wav"],
)
def test_a_tiny_file_is_still_recognised(head: bytes, expected: SniffedKind) -> None:
    assert len(head) < SNIFF_LENGTH
    assert sniff(head) == expected


def test_the_sniff_length_is_small_enough_to_judge_an_upload_from_its_first_chunk() -> None:
    assert 64 <= SNIFF_LENGTH <= 1024


def test_the_sniffed_media_type_follows_the_content_type() -> None:
    for _, expected in MEDIA_SAMPLES.values():
        assert expected.content_type.startswith(expected.media_type.value + "/")


def test_a_sniffed_kind_is_an_immutable_value() -> None:
    with pytest.raises(AttributeError):
        MP3.content_type = "text/html"  # type: ignore[misc]


@given(st.binary(max_size=2 * SNIFF_LENGTH))
def test_sniff_never_raises_on_arbitrary_bytes(head: bytes) -> None:
    result = sniff(head)
    assert result is None or isinstance(result, SniffedKind)


@st.composite
def damaged_samples(draw: st.DrawFn) -> bytes:
    """A real header, cut short and with a few bytes overwritten: the hard cases for parsers."""
    head, _ = draw(st.sampled_from(list(MEDIA_SAMPLES.values())))
    data = bytearray(head[: draw(st.integers(0, len(head)))])
    for _ in range(draw(st.integers(0, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@given(damaged_samples())
def test_sniff_never_raises_on_damaged_headers(head: bytes) -> None:
    result = sniff(head)
    assert result is None or isinstance(result, SniffedKind)


@given(st.binary(min_size=SNIFF_LENGTH, max_size=SNIFF_LENGTH), st.binary(max_size=64))
def test_only_the_first_sniff_length_bytes_count(head: bytes, tail: bytes) -> None:
    assert sniff(head + tail) == sniff(head)


def test_sniff_accepts_a_memoryview_of_the_upload_buffer() -> None:
    buffer = bytearray(mpeg_frames())
    assert sniff(memoryview(buffer)) == MP3
