"""The client commands' pure pieces: the per-day bars and the multipart body written from disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multipart import PushMultipartParser

from klantroef_app.client_cli.charts import MAX_FILLED_DAYS, bar, days_to_draw, per_day_chart
from klantroef_app.client_cli.config import ClientError
from klantroef_app.client_cli.upload import CHUNK_BYTES, MultipartFile


@given(st.integers(0, 10_000), st.integers(1, 10_000), st.integers(1, 80))
def test_a_bar_never_passes_its_width_and_shows_every_view(
    value: int, largest: int, width: int
) -> None:
    value = min(value, largest)
    drawn = bar(value, largest, width)
    assert len(drawn) <= width
    assert (drawn == "") == (value == 0)


def test_the_largest_day_fills_the_width_and_others_are_in_proportion() -> None:
    assert bar(8, 8, 10) == "█" * 10
    assert bar(4, 8, 10) == "█" * 5
    assert bar(1, 8, 10) == "█▎"  # 1.25 cells: one full, two eighths
    assert bar(1, 10_000, 10) == "▏"  # at least an eighth: a day with views is seen


def test_gaps_between_days_are_drawn_empty_within_a_quarter() -> None:
    drawn = days_to_draw({"2026-02-27": 2, "2026-03-02": 1})
    assert drawn == [("2026-02-27", 2), ("2026-02-28", 0), ("2026-03-01", 0), ("2026-03-02", 1)]
    far = {"2025-01-01": 1, "2026-01-01": 1}
    assert days_to_draw(far) == sorted(far.items())  # a year apart: only the days with views
    assert MAX_FILLED_DAYS >= 90


def test_the_chart_has_a_line_per_day_with_its_count() -> None:
    lines = per_day_chart({"2026-11-29": 1, "2026-11-30": 12}, width=24)
    assert lines == [
        "2026-11-29  " + "██".ljust(24) + "   1",
        "2026-11-30  " + "█" * 24 + "  12",
    ]
    assert per_day_chart({}) == ["no views yet"]


def test_the_body_is_a_form_the_servers_parser_reads_and_its_length_is_exact(
    tmp_path: Path,
) -> None:
    data = bytes(range(256)) * (CHUNK_BYTES // 128 + 3)  # a few chunks and a bit
    path = tmp_path / 'a "quoted"\nname.mp4'
    path.write_bytes(data)
    sent: list[int] = []
    with path.open("rb") as handle:
        body = MultipartFile(handle, path.name, "Über")
        raw = b"".join(body.chunks(sent.append))

    assert len(raw) == body.content_length
    assert sum(sent) == len(data)
    assert max(sent) <= CHUNK_BYTES
    parser = PushMultipartParser(body.boundary)
    parts: dict[str, bytes] = {}
    names: dict[str, str | None] = {}
    current = ""
    for event in [*parser.parse(raw), *parser.parse(b"")]:  # then the end of input
        if event is None:
            continue
        if isinstance(event, bytes | bytearray):
            parts[current] += event
        else:
            current = event.name
            names[current] = event.filename
            parts[current] = b""
    assert parser.closed
    assert parts == {"title": "Über".encode(), "file": data}
    assert names["file"] == path.name  # escaped as browsers do, and read back whole


def test_a_file_that_shrinks_while_sent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x" * 1000)
    with path.open("rb") as handle:
        body = MultipartFile(handle, path.name, None)
        path.write_bytes(b"x" * 10)  # truncated after its size was taken
        with pytest.raises(ClientError, match="shorter"):
            list(body.chunks(lambda _n: None))


def test_the_client_commands_load_nothing_of_the_server() -> None:
    """What keeps ``klantroef media ...`` quick to start: no Litestar, SQLAlchemy, Redis."""
    probe = (
        "import sys\n"
        "from klantroef_app import console, client_cli\n"
        "import klantroef_app.client_cli.commands\n"
        "heavy = ('litestar', 'sqlalchemy', 'redis', 'alembic', 'klantroef_app.container',"
        " 'klantroef_app.cli', 'klantroef_http', 'klantroef_adapters')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
