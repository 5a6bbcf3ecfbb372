"""``klantroef create-admin`` and ``klantroef rotate-keys``, run on the server's host."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from klantroef_adapters.migrate import upgrade
from klantroef_app.cli import main
from klantroef_app.container import bootstrap, close, key_id, make_signer
from klantroef_app.secrets_file import SECRETS_FILE, load_secrets, rotate_secrets
from klantroef_app.settings import Settings, SettingsError
from klantroef_core.domain.tokens import AccessClaims, StreamClaims
from klantroef_core.errors import TokenRejected
from tests.live_server import FAST_ARGON2, live_server
from tests.media_samples import media_file
from tests.terminal import in_terminal, run

PASSWORD = "correct horse battery"


@pytest.fixture
def host(tmp_path: Path) -> dict[str, str]:
    """The environment of a host whose SQLite database is migrated."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")},
        "KLANTROEF_DATA_DIR": str(tmp_path / "var"),
        **FAST_ARGON2,
    }
    (tmp_path / "var").mkdir()
    upgrade(Settings.from_env(env).database_url)  # what `klantroef migrate` does
    return env


def can_log_in(env: dict[str, str], email: str, password: str) -> bool:
    async def attempt() -> bool:
        container = bootstrap(Settings.from_env(env))
        try:
            await container.login()(email, password, "127.0.0.1")
            return True
        except Exception:
            return False
        finally:
            await close(container)

    return asyncio.run(attempt())


def kid_of(token: str) -> str:
    header = token.split(".", maxsplit=1)[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def one_line_error(done: subprocess.CompletedProcess[str], code: int, wording: str) -> None:
    assert done.returncode == code
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"klantroef: {wording}"), done.stderr
    assert "Traceback" not in done.stderr


def test_create_admin_reads_the_password_from_stdin_whatever_signup_says(
    host: dict[str, str],
) -> None:
    first = run(
        ["create-admin", "--email", "ann@example.com", "--password-stdin"],
        host,
        stdin=PASSWORD + "\n",
    )
    second = run(
        ["create-admin", "--email", "bob@example.com", "--password-stdin"], host, stdin=PASSWORD
    )

    assert first.returncode == 0, first.stderr
    assert re.fullmatch(r"created admin ann@example\.com \(id \S+\)\n", first.stdout)
    assert second.returncode == 0, second.stderr  # signup is closed: the host may still add
    assert can_log_in(host, "ann@example.com", PASSWORD)
    assert can_log_in(host, "bob@example.com", PASSWORD)
    assert not can_log_in(host, "ann@example.com", PASSWORD + "\n")  # one line, no newline


def test_create_admin_refusals_are_one_line(host: dict[str, str], tmp_path: Path) -> None:
    command = ["create-admin", "--email", "ann@example.com", "--password-stdin"]
    assert run(command, host, stdin=PASSWORD).returncode == 0

    one_line_error(run(command, host, stdin=PASSWORD), 1, "this email is already taken")
    one_line_error(
        run(["create-admin", "--email", "cy@example.com", "--password-stdin"], host, stdin="short"),
        1,
        "a password is 8 to 1024 characters",
    )
    one_line_error(run(command[:-1], host), 1, "no terminal to ask the password on")
    fresh = {**host, "KLANTROEF_DATA_DIR": str(tmp_path / "unmigrated")}
    (tmp_path / "unmigrated").mkdir()
    unmigrated = run(command, fresh, stdin=PASSWORD)
    one_line_error(unmigrated, 1, "the database ")
    assert "has `klantroef migrate` run?" in unmigrated.stderr
    for url in ("mysql+aiomysql://root@127.0.0.1:notaport/k", "nosuch://k"):
        broken = {**host, "KLANTROEF_DATABASE_URL": url}
        one_line_error(run(command, broken, stdin=PASSWORD), 1, "KLANTROEF_DATABASE_URL cannot")


@pytest.mark.parametrize(
    ("email", "stdin", "wording"),
    [
        ("not-an-email", PASSWORD, "klantroef: "),
        ("cy@example.com", "", "klantroef: --password-stdin: standard input holds no password"),
    ],
)
def test_create_admin_refusals_in_process(
    host: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    email: str,
    stdin: str,
    wording: str,
) -> None:
    for name, value in host.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))

    code = main(["create-admin", "--email", email, "--password-stdin"])

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(wording)
    assert len(err.splitlines()) == 1


def test_create_admin_asks_twice_without_echo(host: dict[str, str]) -> None:
    with in_terminal(["create-admin", "--email", "ann@example.com"], host) as tty:
        tty.expect("Password: ")
        tty.type(PASSWORD + "\n")
        tty.expect("Repeat the password: ")
        tty.type(PASSWORD + "\n")
        assert tty.finish() == 0, tty.text
    assert PASSWORD not in tty.text
    assert "created admin ann@example.com" in tty.text

    with in_terminal(["create-admin", "--email", "bob@example.com"], host) as tty:
        tty.expect("Password: ")
        tty.type(PASSWORD + "\n")
        tty.expect("Repeat the password: ")
        tty.type("something else entirely\n")
        assert tty.finish() == 1
    assert "klantroef: the two passwords differ" in tty.text
    assert can_log_in(host, "ann@example.com", PASSWORD)
    assert not can_log_in(host, "bob@example.com", PASSWORD)


def test_a_rotation_keeps_old_tokens_valid_for_two_lifetimes_then_refuses_and_drops_the_key(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"KLANTROEF_DATA_DIR": str(tmp_path)})
    start = datetime(2030, 1, 1, tzinfo=UTC)
    before = make_signer(settings, load_secrets(settings))
    access = before.sign_access(AccessClaims("admin", "t1", start, start + timedelta(hours=1)))
    link = before.sign_stream(StreamClaims("m1", "l1", start, start + timedelta(minutes=10)))

    rotation = rotate_secrets(settings, start.timestamp())

    assert rotation.rotated == ("access_secret", "stream_secret")
    # One lifetime for the servers to restart, one for the tokens they signed meanwhile.
    assert rotation.verifies_until["access_secret"] == start.timestamp() + 2 * 3600
    assert rotation.verifies_until["stream_secret"] == start.timestamp() + 2 * (600 + 5)
    after = make_signer(settings, load_secrets(settings))
    assert after.verify_access(access, start + timedelta(minutes=59)).subject == "admin"
    assert after.verify_stream(link, start + timedelta(minutes=9)).media_id == "m1"
    fresh = after.sign_access(AccessClaims("admin", "t2", start, start + timedelta(hours=1)))
    assert kid_of(fresh) != kid_of(access)
    assert kid_of(fresh) == key_id(load_secrets(settings).access_secret)
    file = tmp_path / SECRETS_FILE
    assert stat.S_IMODE(file.stat().st_mode) == 0o600

    # A retired key that leaked mints no lasting tokens: past its time it is refused,
    # although no rotation has dropped it from the file yet.
    late = start + timedelta(hours=2)
    issued = late - timedelta(minutes=10)
    minted = before.sign_access(AccessClaims("admin", "t9", issued, late + timedelta(days=365)))
    assert after.verify_access(minted, late - timedelta(seconds=1)).token_id == "t9"
    with pytest.raises(TokenRejected, match="invalid"):
        after.verify_access(minted, late)

    soon = rotate_secrets(settings, start.timestamp() + 60)  # the first key still in its time
    assert soon.dropped == 0
    still = make_signer(settings, load_secrets(settings))
    assert still.verify_access(access, start + timedelta(minutes=59)).subject == "admin"

    later = rotate_secrets(settings, start.timestamp() + 7201)  # past the first key's time
    assert later.dropped == 3  # the first access key, the first two stream keys
    pruned = make_signer(settings, load_secrets(settings))
    with pytest.raises(TokenRejected, match="invalid"):  # its key is gone, not just expired
        pruned.verify_access(access, start + timedelta(minutes=30))
    assert pruned.verify_access(fresh, start + timedelta(minutes=30)).token_id == "t2"
    kept = json.loads(file.read_text())
    assert len(kept["access_secret_previous"]) == 2  # the second and third keys
    assert len(kept["stream_secret_previous"]) == 1  # the third: links live 10 minutes


def test_revoking_previous_keys_refuses_every_token_they_signed(tmp_path: Path) -> None:
    settings = Settings.from_env({"KLANTROEF_DATA_DIR": str(tmp_path)})
    start = datetime(2030, 1, 1, tzinfo=UTC)
    before = make_signer(settings, load_secrets(settings))
    access = before.sign_access(AccessClaims("admin", "t1", start, start + timedelta(hours=1)))
    rotate_secrets(settings, start.timestamp())

    revoked = rotate_secrets(settings, start.timestamp() + 60, revoke_previous=True)

    assert revoked.dropped == 4  # per kind: the key retired before, and the one replaced now
    kept = json.loads((tmp_path / SECRETS_FILE).read_text())
    assert "access_secret_previous" not in kept
    assert "stream_secret_previous" not in kept
    after = make_signer(settings, load_secrets(settings))
    with pytest.raises(TokenRejected, match="invalid"):
        after.verify_access(access, start + timedelta(minutes=5))


def test_keys_set_in_the_environment_are_rotated_there(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "KLANTROEF_DATA_DIR": str(tmp_path),
            "KLANTROEF_ACCESS_SECRET": "a" * 40,
            "KLANTROEF_STREAM_SECRET": "s" * 40,
        }
    )
    with pytest.raises(SettingsError, match="rotate them there"):
        rotate_secrets(settings, 0)
    only_access = Settings.from_env(
        {"KLANTROEF_DATA_DIR": str(tmp_path), "KLANTROEF_ACCESS_SECRET": "a" * 40}
    )
    rotation = rotate_secrets(only_access, 0)
    assert rotation.rotated == ("stream_secret",)
    assert rotation.configured == ("access_secret",)
    with pytest.raises(SettingsError, match="memory://"):
        rotate_secrets(Settings(), 0)


def test_a_restarted_server_signs_with_the_new_key_and_still_honours_the_old_tokens(
    tmp_path: Path,
) -> None:
    data = tmp_path / "var"
    credentials = {"email": "ann@example.com", "password": PASSWORD}
    with live_server(data) as server:
        assert httpx.post(server.base_url + "/auth/signup", json=credentials).status_code == 201
        old = httpx.post(server.base_url + "/auth/login", json=credentials).json()["token"]
        auth = {"Authorization": f"Bearer {old}"}
        media = httpx.post(
            server.base_url + "/media",
            headers=auth,
            files={"file": ("clip.mp4", media_file(10_000))},
        ).json()
        link = httpx.get(f"{server.base_url}/media/{media['id']}/stream-url", headers=auth)
        old_link = link.json()["url"]

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLANTROEF_")},
        "KLANTROEF_DATA_DIR": str(data),
    }
    rotated = run(["rotate-keys"], env)
    assert rotated.returncode == 0, rotated.stderr
    new_kid = re.search(r"access key rotated: new key id (\w+)", rotated.stdout)
    assert new_kid, rotated.stdout
    assert "restart the running servers" in rotated.stdout

    with live_server(data) as server:
        assert httpx.get(server.base_url + "/auth/me", headers=auth).status_code == 200
        stream = httpx.get(server.base_url + "/media/" + old_link.split("/media/", 1)[1])
        assert stream.status_code == 200
        assert stream.content == media_file(10_000)
        new = httpx.post(server.base_url + "/auth/login", json=credentials).json()["token"]
    assert kid_of(new) == new_kid.group(1)
    assert kid_of(new) != kid_of(old)
