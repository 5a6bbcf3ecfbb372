"""Host commands: ``klantroef create-admin`` and ``klantroef rotate-keys``.

They run on the server's host, with its ``KLANTROEF_*`` settings, and work
through the composition root like the server does: ``create-admin`` calls the
core's ``Signup``; ``rotate-keys`` replaces the keys in the secrets file
(:func:`klantroef_app.secrets_file.rotate_secrets`). Every refusal is one line
on stderr: exit code 1 for what the command was asked (email taken, weak
password), 2 for settings it cannot use.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from datetime import UTC, datetime

from klantroef_app.settings import Settings, SettingsError
from klantroef_core.domain.admin import Admin

HOST_OPERATOR = "host-operator"
"""The actor ``create-admin`` passes to ``Signup``: whoever runs commands on the server's
host holds its database and secrets, so closed signup does not stop them."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the host commands to the ``klantroef`` parser."""
    create = commands.add_parser(
        "create-admin", help="create an admin account (the password is asked without echo)"
    )
    create.add_argument("--email", required=True, help="the new admin's email address")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of asking",
    )
    create.set_defaults(run=create_admin)
    rotate = commands.add_parser(
        "rotate-keys",
        help="new signing keys for access tokens and stream links; the old ones keep "
        "verifying for two token lifetimes (restart the servers afterwards)",
    )
    rotate.add_argument(
        "--revoke-previous",
        action="store_true",
        help="drop every older key now, the one replaced included (for a key that leaked: "
        "its tokens are refused once the servers restart)",
    )
    rotate.set_defaults(run=rotate_keys)


class CommandError(Exception):
    """A refusal, worded for the operator on one line."""


def _fail(message: object, code: int) -> int:
    print(f"klantroef: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def create_admin(args: argparse.Namespace) -> int:
    from klantroef_core.errors import KlantroefError

    try:
        settings = _settings_with_a_database()
        password = _password(from_stdin=args.password_stdin)
        admin = asyncio.run(_signup(settings, args.email, password))
    except SettingsError as exc:
        return _fail(exc, 2)
    except (CommandError, KlantroefError) as exc:
        return _fail(exc, 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    print(f"created admin {admin.email.value} (id {admin.id})")
    return 0


def _settings_with_a_database() -> Settings:
    settings = Settings.from_env()
    if settings.in_memory:
        raise SettingsError(
            "KLANTROEF_DATABASE_URL=memory:// keeps admins in the server's memory: "
            "sign up over HTTP (POST /auth/signup) instead"
        )
    return settings


def _password(*, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise CommandError("--password-stdin: standard input holds no password")
        return password
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask the password on: use --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != password:
        raise CommandError("the two passwords differ")
    return password


async def _signup(settings: Settings, email: str, password: str) -> Admin:
    from sqlalchemy.exc import SQLAlchemyError

    from klantroef_app.container import bootstrap, close
    from klantroef_core.errors import Unavailable

    container = bootstrap(settings)
    try:
        container.engine()  # a URL no engine can be made of fails here, with nothing to close
    except (SQLAlchemyError, ValueError) as exc:
        reason = str(exc).splitlines()[0]
        raise CommandError(f"KLANTROEF_DATABASE_URL cannot be used: {reason}") from exc
    try:
        return await container.signup()(email, password, HOST_OPERATOR)
    except Unavailable as exc:
        raise CommandError(
            f"{exc} (is KLANTROEF_DATABASE_URL right, and has `klantroef migrate` run?)"
        ) from exc
    except SQLAlchemyError as exc:  # a database without the schema, say
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise CommandError(
            f"the database cannot be used (has `klantroef migrate` run?): {reason}"
        ) from exc
    finally:
        await close(container)


def rotate_keys(args: argparse.Namespace) -> int:
    from klantroef_app.container import key_id
    from klantroef_app.secrets_file import load_secrets, rotate_secrets

    try:
        settings = Settings.from_env()
        rotation = rotate_secrets(settings, time.time(), revoke_previous=args.revoke_previous)
        kept = load_secrets(settings)
    except SettingsError as exc:
        return _fail(exc, 2)
    except OSError as exc:
        return _fail(f"cannot rotate the keys in {settings.data_dir}: {exc.strerror}", 2)
    for name in rotation.rotated:
        kind = name.removesuffix("_secret")
        if args.revoke_previous:
            fate = "every older key is revoked"
        else:
            until = datetime.fromtimestamp(rotation.verifies_until[name], UTC).isoformat()
            fate = f"the old one verifies until {until} at the latest"
        print(f"{kind} key rotated: new key id {key_id(getattr(kept, name))}; {fate}")
    for name in rotation.configured:
        print(
            f"the {name.removesuffix('_secret')} key is KLANTROEF_{name.upper()}: rotate it there"
        )
    if rotation.dropped and not args.revoke_previous:
        print(f"dropped {rotation.dropped} retired key(s) past their time")
    print("restart the running servers (klantroef serve) so they sign with the new keys")
    return 0
