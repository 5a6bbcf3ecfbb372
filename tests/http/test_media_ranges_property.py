"""Hypothesis: for any file size and any Range header, the stream answers as RFC 9110 says.

The expected answer is computed from how the header was built, not by parsing it,
so the oracle shares no code with ``klantroef_http.media.ranges``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from klantroef_adapters.storage.local import LocalMediaStorage
from klantroef_app.asgi import build_app
from tests.app_support import ADMIN_EMAIL, ADMIN_PASSWORD, migrated_container
from tests.media_samples import MP4_HEAD, media_file, multipart_body

READ_CHUNK = 4096  # small, so ranges cross chunk boundaries on modest files


@dataclass
class Server:
    client: TestClient[Any]
    auth: dict[str, str]
    streams: dict[int, tuple[str, bytes]]  # size -> (stream path, bytes)

    def stream_of(self, size: int) -> tuple[str, bytes]:
        """A stored file of ``size`` bytes (uploaded the first time a size is asked for)."""
        if size not in self.streams:
            data = media_file(size, MP4_HEAD, seed=size)
            body, content_type = multipart_body([], data)
            headers = {**self.auth, "content-type": content_type}
            item = self.client.post("/media", content=body, headers=headers).json()
            url = self.client.get(f"/media/{item['id']}/stream-url", headers=self.auth).json()[
                "url"
            ]
            parts = urlsplit(url)
            self.streams[size] = (f"{parts.path}?{parts.query}", data)
        return self.streams[size]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("ranges")
    storage = LocalMediaStorage(folder / "media", read_chunk=READ_CHUNK)
    # Files of any size, down to 12 bytes, which no real media file is: uploads here
    # store without reading the file (no probe), as a library user may configure them.
    container = migrated_container(folder, {"media_storage": storage, "media_probe": None})
    with TestClient(app=build_app(container)) as client:
        credentials = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        client.post("/auth/signup", json=credentials)
        token = client.post("/auth/login", json=credentials).json()["token"]
        yield Server(client, {"Authorization": f"Bearer {token}"}, {})


# --- Range headers, each with the answer RFC 9110 gives for a file of `size` bytes -----------

Answer = tuple[int, int, int]  # status, first byte, last byte (for 200/206)


@dataclass(frozen=True)
class RangeCase:
    header: str
    kind: str
    first: int = 0
    last: int | None = None

    def answer(self, size: int) -> Answer:
        if self.kind == "int":
            if self.last is not None and self.last < self.first:
                return 200, 0, size - 1  # invalid: ignored
            if self.first >= size:
                return 416, 0, 0
            last = size - 1 if self.last is None else min(self.last, size - 1)
            return 206, self.first, last
        if self.kind == "suffix":
            if self.first == 0:
                return 416, 0, 0
            return 206, max(0, size - self.first), size - 1
        return 200, 0, size - 1  # several ranges, other units, garbage: the whole file


positions = st.integers(min_value=0, max_value=700_000)
unit = st.sampled_from(["bytes", "Bytes", "BYTES"])


@st.composite
def range_cases(draw: st.DrawFn) -> RangeCase:
    kind = draw(st.sampled_from(["int", "open", "suffix", "multi", "unit", "garbage"]))
    name = draw(unit)
    if kind == "int":
        first, last = draw(positions), draw(positions)
        return RangeCase(f"{name}={first}-{last}", "int", first, last)
    if kind == "open":
        first = draw(positions)
        return RangeCase(f"{name}={first}-", "int", first, None)
    if kind == "suffix":
        length = draw(positions)
        return RangeCase(f"{name}=-{length}", "suffix", length)
    if kind == "multi":
        a, b, c = draw(positions), draw(positions), draw(positions)
        return RangeCase(f"{name}={a}-{max(a, b)}, -{c}", "multi")
    if kind == "unit":
        return RangeCase(f"items={draw(positions)}-", "unit")
    garbage = draw(st.text(alphabet="bytes0123456789-,; xyz", max_size=30))
    return RangeCase(garbage, "garbage")


sizes = st.one_of(st.integers(12, 3 * READ_CHUNK), st.integers(200_000, 600_000))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(size=sizes, case=range_cases())
def test_any_range_on_any_file_is_answered_as_rfc_9110_says(
    server: Server, size: int, case: RangeCase
) -> None:
    path, data = server.stream_of(size)
    status, first, last = case.answer(size)

    response = server.client.get(path, headers={"Range": case.header})

    assert response.status_code == status, case
    if status == 416:
        assert response.headers["content-range"] == f"bytes */{size}"
        return
    assert response.content == data[first : last + 1]
    assert response.headers["content-length"] == str(last - first + 1)
    if status == 206:
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    else:
        assert "content-range" not in response.headers
