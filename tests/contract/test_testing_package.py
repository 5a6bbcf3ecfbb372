"""The contract suites ship in the package, and stay out of everyone else's way."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import klantroef_adapters.testing as testing
from klantroef_core import ports

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_adapters_loads_no_test_tool() -> None:
    probe = (
        "import sys\n"
        "import klantroef_adapters, klantroef_adapters.memory.view_log,"
        " klantroef_adapters.memory.media_storage, klantroef_adapters.redis.rate_limiter,"
        " klantroef_adapters.sql.view_log, klantroef_adapters.storage\n"
        "import klantroef_core.use_cases.views\n"
        "loaded = sorted(m for m in ('pytest', '_pytest', 'hypothesis', 'pytest_asyncio',"
        " 'klantroef_adapters.testing') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_the_probe_would_see_a_test_tool_if_one_were_loaded() -> None:
    probe = "import sys, klantroef_adapters.testing\nprint('pytest' in sys.modules, 'hypothesis' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True", "True"]


def test_the_test_tools_are_an_extra_not_a_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = {
        requirement.split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for requirement in project["dependencies"]
    }
    assert names.isdisjoint({"pytest", "pytest-asyncio", "hypothesis"})
    testing_extra = " ".join(project["optional-dependencies"]["testing"])
    assert all(tool in testing_extra for tool in ("pytest", "pytest-asyncio", "hypothesis"))
    assert "klantroef[testing]" in project["optional-dependencies"]["dev"]


def test_there_is_one_contract_per_storage_port() -> None:
    storage_ports = [
        "AdminRepository",
        "AnalyticsCache",
        "MediaRepository",
        "MediaStorage",
        "PartialUploads",
        "RateLimiter",
        "TokenStore",
        "UploadSessions",
        "ViewLog",
    ]
    for port in storage_ports:
        assert hasattr(ports, port)
        contract = getattr(testing, f"{port}Contract")
        assert any(name.startswith("test_") for name in dir(contract)), port
