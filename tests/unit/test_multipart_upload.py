"""Reading an upload form straight from the request stream, however the network splits it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klantroef_core.errors import BadRequest, PayloadTooLarge
from klantroef_http.media.multipart_upload import (
    MAX_OVERHEAD,
    MAX_PARTS,
    MultipartUpload,
    boundary_of,
    refuse_oversized,
)
from tests.media_samples import media_file, multipart_body


async def pieces(body: bytes, cuts: Sequence[int] = ()) -> AsyncIterator[bytes]:
    """``body`` as the network might deliver it: cut at the given offsets."""
    edges = [0, *sorted({c for c in cuts if 0 < c < len(body)}), len(body)]
    for start, end in itertools.pairwise(edges):
        await asyncio.sleep(0)
        yield body[start:end]


async def read_upload(
    body: bytes, content_type: str, cuts: Sequence[int] = ()
) -> tuple[MultipartUpload, bytes, dict[str, str]]:
    upload = await MultipartUpload.open(pieces(body, cuts), content_type)
    data = b"".join([chunk async for chunk in upload.chunks()])
    return upload, data, dict(await upload.all_fields())


TRICKY_FILE = media_file(5000) + b"\r\n--klantroef-not-the-boundary\r\n" + b"\r\n--" * 50


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, 6000), max_size=40))
async def test_the_file_and_fields_come_out_whole_however_the_body_is_cut(cuts: list[int]) -> None:
    body, content_type = multipart_body(
        [("title", "Zoë")], TRICKY_FILE, filename="a b.mp4", after=[("type", "video")]
    )

    upload, data, fields = await read_upload(body, content_type, cuts)

    assert data == TRICKY_FILE
    assert upload.filename == "a b.mp4"
    assert dict(upload.leading_fields) == {"title": "Zoë"}
    assert fields == {"title": "Zoë", "type": "video"}


async def test_a_file_part_without_a_file_name_has_none() -> None:
    body, content_type = multipart_body([], b"data", filename=None)
    upload, data, _ = await read_upload(body, content_type)
    assert (upload.filename, data) == (None, b"data")


async def test_an_empty_file_part_gives_no_bytes() -> None:
    body, content_type = multipart_body([], b"")
    _, data, _ = await read_upload(body, content_type)
    assert data == b""


async def test_the_file_part_is_handed_over_before_the_rest_of_the_body_arrives() -> None:
    body, content_type = multipart_body([], media_file(100_000))
    delivered: list[int] = []

    async def counted() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            delivered.append(start)
            yield body[start : start + 1000]

    upload = await MultipartUpload.open(counted(), content_type)
    first = await anext(upload.chunks())

    assert first
    assert len(delivered) <= 2


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ([("title", "x")], "file_missing"),
        ([], "file_missing"),
    ],
)
async def test_a_form_without_a_file_part_is_refused(
    fields: list[tuple[str, str]], code: str
) -> None:
    body, content_type = multipart_body(fields)
    with pytest.raises(BadRequest) as caught:
        await MultipartUpload.open(pieces(body), content_type)
    assert caught.value.code == code


async def test_a_file_in_a_field_that_is_not_file_is_refused() -> None:
    body, content_type = multipart_body([], b"x")
    body = body.replace(b'name="file"', b'name="other"')
    with pytest.raises(BadRequest) as caught:
        await MultipartUpload.open(pieces(body), content_type)
    assert caught.value.code == "unexpected_file"


async def test_a_field_that_is_not_utf8_is_refused() -> None:
    body, content_type = multipart_body([("title", "ok")], b"x")
    body = body.replace(b"\r\n\r\nok\r\n", b"\r\n\r\n\xff\xfe\r\n", 1)
    with pytest.raises(BadRequest) as caught:
        await MultipartUpload.open(pieces(body), content_type)
    assert caught.value.code == "bad_field"


async def test_too_many_parts_are_refused() -> None:
    fields = [(f"f{i}", "v") for i in range(MAX_PARTS + 1)]
    body, content_type = multipart_body(fields, b"x")
    with pytest.raises(BadRequest) as caught:
        await read_upload(body, content_type)
    assert caught.value.code == "bad_multipart"


async def test_a_body_that_is_not_multipart_at_all_is_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        await MultipartUpload.open(pieces(b"just some bytes"), "multipart/form-data; boundary=xyz")
    assert caught.value.code == "bad_multipart"


async def test_the_fields_are_read_only_after_the_file() -> None:
    body, content_type = multipart_body([], b"x")
    upload = await MultipartUpload.open(pieces(body), content_type)
    with pytest.raises(RuntimeError):
        await upload.all_fields()


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ("multipart/form-data; boundary=abc", "abc"),
        ('Multipart/Form-Data; charset=utf-8; boundary="a b:c"', "a b:c"),
    ],
)
def test_the_boundary_is_read_from_the_content_type(header: str, boundary: str) -> None:
    assert boundary_of(header) == boundary


def test_an_announced_length_is_refused_only_when_no_allowed_file_fits() -> None:
    refuse_oversized(str(1000 + MAX_OVERHEAD), 1000)
    refuse_oversized(None, 1000)
    refuse_oversized("not a number", 1000)
    with pytest.raises(PayloadTooLarge):
        refuse_oversized(str(1001 + MAX_OVERHEAD), 1000)
