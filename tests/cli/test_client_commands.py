"""``klantroef login`` and ``klantroef media ...`` against a real server, as a person runs them.

Each command runs as the installed console script in a child process; the upload
and the password prompt run in a pseudo-terminal, where the progress bar is drawn
and echo is off. One ``klantroef serve`` (SQLite) serves the whole module.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from klantroef_app.container import make_signer
from klantroef_app.secrets_file import load_secrets
from klantroef_app.settings import Settings
from klantroef_core.domain.tokens import AccessClaims
from tests.live_server import LiveServer, free_port, live_server
from tests.media_samples import media_file
from tests.real_servers import CREDENTIALS, SECRETS
from tests.terminal import cli_env, in_terminal, run

MAX_UPLOAD = 12_000_000
EMAIL, PASSWORD = CREDENTIALS["email"], CREDENTIALS["password"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {**SECRETS, "KLANTROEF_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}
    with live_server(tmp_path_factory.mktemp("server"), env) as live:
        assert httpx.post(live.base_url + "/auth/signup", json=CREDENTIALS).status_code == 201
        yield live


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "home" / "klantroef" / "credentials.json"


def logged_in(server: LiveServer, config: Path) -> dict[str, str]:
    env = cli_env(config)
    done = run(
        ["login", "--url", server.base_url, "--email", EMAIL, "--password-stdin"],
        env,
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    return env


def one_line_error(done: subprocess.CompletedProcess[str], wording: str) -> None:
    """A refusal: exit code 1, one line on stderr that says ``wording``, no traceback."""
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"klantroef: {wording}"], done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_login_asks_the_password_without_echo_and_keeps_the_token_for_its_owner(
    server: LiveServer, config: Path
) -> None:
    with in_terminal(["login", "--url", server.base_url, "--email", EMAIL], cli_env(config)) as tty:
        tty.expect("Password: ")
        tty.type(PASSWORD + "\n")
        assert tty.finish() == 0, tty.text

    assert PASSWORD not in tty.text  # the terminal did not echo it
    assert f"logged in to {server.base_url} as {EMAIL}" in tty.text
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    kept = json.loads(config.read_text())
    assert kept["url"] == server.base_url
    me = httpx.get(
        server.base_url + "/auth/me", headers={"Authorization": f"Bearer {kept['token']}"}
    )
    assert me.json()["email"] == EMAIL


def test_upload_in_a_terminal_draws_progress_and_the_server_keeps_the_same_bytes(
    server: LiveServer, config: Path, tmp_path: Path
) -> None:
    env = logged_in(server, config)
    clip = tmp_path / "holiday.mp4"
    clip.write_bytes(media_file(8_000_000, seed=7))

    with in_terminal(["media", "upload", str(clip), "--title", "Holiday"], env) as tty:
        assert tty.finish() == 0, tty.text

    screen = tty.text
    assert "100%" in screen
    assert "8.0/8.0 MB" in screen  # bytes sent out of the total
    assert re.search(r"\d+(\.\d+)? [kMG]?B/s", screen), screen  # the rate
    assert "0:00:00" in screen  # time left, at the end
    assert "━" in screen  # the bar itself
    assert screen.count("holiday.mp4") >= 2  # redrawn as it went, not printed once
    uploaded = re.search(r"uploaded (\S+): Holiday \(video/mp4, 8\.0 MB\)", screen)
    assert uploaded, screen

    link = run(["media", "link", uploaded.group(1)], env)
    assert link.returncode == 0, link.stderr
    digest = hashlib.sha256()
    with httpx.stream("GET", link.stdout.strip()) as stream:
        assert stream.status_code == 200
        for chunk in stream.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(clip.read_bytes()).hexdigest()


def test_piped_upload_draws_no_bar(server: LiveServer, config: Path, tmp_path: Path) -> None:
    env = logged_in(server, config)
    clip = tmp_path / "Quiet take.mp4"
    clip.write_bytes(media_file(300_000))

    done = run(["media", "upload", str(clip)], env)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert re.fullmatch(r"uploaded \S+: Quiet take \(video/mp4, 300\.0 kB\)\n", done.stdout)


def test_list_link_analytics_and_delete(server: LiveServer, config: Path, tmp_path: Path) -> None:
    env = logged_in(server, config)
    clip = tmp_path / "talk.mp4"
    clip.write_bytes(media_file(50_000))
    uploaded = run(["media", "upload", str(clip), "--title", "Talk"], env)
    media_id = uploaded.stdout.split()[1].rstrip(":")

    listing = run(["media", "list"], env)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[0].split() == ["ID", "TYPE", "SIZE", "CREATED", "TITLE"]
    row = next(line for line in listing.stdout.splitlines() if line.startswith(media_id))
    assert row.split()[1:4] == ["video", "50.0", "kB"]
    assert row.endswith("Talk")

    link = run(["media", "link", media_id], env)
    url = link.stdout.strip()
    assert url.startswith(f"{server.base_url}/media/{media_id}/stream?token=")
    assert link.stderr.startswith("expires at ")
    for address in ("203.0.113.7", "203.0.113.7", "198.51.100.2"):  # not trusted: one viewer
        view = httpx.post(url.replace("/stream?", "/view?"), headers={"X-Forwarded-For": address})
        assert view.status_code == 201, view.text

    report = run(["media", "analytics", media_id], env)
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[:3] == [f"Talk ({media_id})", "total views  3", "unique IPs   1"]
    today = datetime.now(UTC).date().isoformat()
    day = next(line for line in lines if line.startswith(today))
    assert "█" in day
    assert day.endswith(" 3")

    deleted = run(["media", "delete", media_id], env)
    assert deleted.returncode == 0
    assert deleted.stdout == f"deleted {media_id}\n"
    one_line_error(run(["media", "link", media_id], env), "no media item has this id")


def test_a_server_that_is_down_is_one_line(config: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = run(
        ["login", "--url", url, "--email", EMAIL, "--password-stdin"], cli_env(config), stdin="x\n"
    )
    one_line_error(done, f"cannot reach {url}: connection refused")


def test_a_wrong_password_is_the_servers_word(server: LiveServer, config: Path) -> None:
    done = run(
        ["login", "--url", server.base_url, "--email", EMAIL, "--password-stdin"],
        cli_env(config),
        stdin="not the password\n",
    )
    one_line_error(done, "email or password is incorrect")
    assert not config.exists()


def test_a_session_logged_out_elsewhere_says_to_log_in_again(
    server: LiveServer, config: Path
) -> None:
    env = logged_in(server, config)
    token = json.loads(config.read_text())["token"]
    revoked = httpx.post(
        server.base_url + "/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert revoked.status_code == 204

    one_line_error(
        run(["media", "list"], env),
        "your session has expired or was logged out: run klantroef login",
    )


def test_an_expired_token_says_to_log_in_again(server: LiveServer, config: Path) -> None:
    env = logged_in(server, config)
    keys = Settings(
        access_secret=SECRETS["KLANTROEF_ACCESS_SECRET"],
        stream_secret=SECRETS["KLANTROEF_STREAM_SECRET"],
        ip_hash_secret=SECRETS["KLANTROEF_IP_HASH_SECRET"],
    )
    an_hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    expired = make_signer(keys, load_secrets(keys)).sign_access(
        AccessClaims("admin", "t-expired", an_hour_ago, an_hour_ago + timedelta(minutes=30))
    )
    kept = json.loads(config.read_text())
    config.write_text(json.dumps({**kept, "token": expired}))

    one_line_error(
        run(["media", "list"], env),
        "your session has expired or was logged out: run klantroef login",
    )


def test_an_address_that_is_not_klantroef_is_one_line(config: Path) -> None:
    done = run(
        ["login", "--url", "ftp://127.0.0.1", "--email", EMAIL, "--password-stdin"],
        cli_env(config),
        stdin="x\n",
    )
    one_line_error(done, "--url must be an http:// or https:// address, not 'ftp://127.0.0.1'")


def test_logout_revokes_the_token_and_forgets_it(server: LiveServer, config: Path) -> None:
    env = logged_in(server, config)
    token = json.loads(config.read_text())["token"]

    done = run(["logout"], env)

    assert done.returncode == 0, done.stderr
    assert not config.exists()
    me = httpx.get(server.base_url + "/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    one_line_error(
        run(["media", "list"], env), "not logged in: run klantroef login --url URL --email EMAIL"
    )


def test_refused_files_are_the_servers_detail(
    server: LiveServer, config: Path, tmp_path: Path
) -> None:
    env = logged_in(server, config)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video\n" * 100)
    huge = tmp_path / "huge.mp4"
    huge.write_bytes(media_file(MAX_UPLOAD + 1))

    one_line_error(
        run(["media", "upload", str(notes)], env),
        "the file is not an audio or video format we can serve",
    )
    one_line_error(
        run(["media", "upload", str(huge)], env), f"the file is larger than {MAX_UPLOAD} bytes"
    )
    one_line_error(
        run(["media", "upload", str(tmp_path / "missing.mp4")], env),
        f"cannot read {tmp_path / 'missing.mp4'}: No such file or directory",
    )


def test_a_token_file_others_can_read_is_refused(server: LiveServer, config: Path) -> None:
    env = logged_in(server, config)
    config.chmod(0o644)

    done = run(["media", "list"], env)

    assert done.returncode == 1
    assert done.stderr.startswith(f"klantroef: {config} holds a token but others may read it")
