"""The README's Python example runs as written, and prints what its comments say."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.summary import LATEST, block

from tests.media_samples import media_file

README = Path(__file__).resolve().parent.parent / "README.md"


def example(heading: str) -> str:
    """The first Python code block under ``heading`` in the README."""
    text = README.read_text("utf-8")
    found = re.search(rf"^{re.escape(heading)}\n.*?```python\n(.*?)```", text, re.S | re.M)
    assert found, f"no Python example under {heading!r}"
    return found.group(1)


def test_the_use_the_core_from_python_example_runs_as_written(tmp_path: Path) -> None:
    code = example("## Use the core from Python")
    (tmp_path / "example.py").write_text(code, "utf-8")
    (tmp_path / "clip.mp4").write_bytes(media_file(1_048_576))
    promised = [line.split("#")[-1].strip() for line in code.splitlines() if "print(" in line]

    run = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == promised
    assert not list(tmp_path.glob("var")), "the in-memory core wrote a data folder"


def variables(text: str) -> set[str]:
    return set(re.findall(r"\bKLANTROEF_[A-Z0-9]+(?:_[A-Z0-9]+)*\b", text))


def test_every_setting_the_code_reads_is_in_the_readme_and_env_example() -> None:
    root = README.parent
    code = variables((root / "src/klantroef_app/settings.py").read_text("utf-8"))
    code |= variables((root / "src/klantroef_app/cli.py").read_text("utf-8"))
    table = README.read_text("utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]

    assert code == variables(table)
    assert code == variables((root / ".env.example").read_text("utf-8"))


def test_the_benchmark_table_is_the_latest_full_runs() -> None:
    # benchmarks.run rewrites it after a full run; python -m benchmarks.summary by hand
    assert block(json.loads(LATEST.read_text("utf-8"))) in README.read_text("utf-8")
    assert "(benchmarks/results/latest.png)" in README.read_text("utf-8")
