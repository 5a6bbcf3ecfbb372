"""The HTTP client commands: ``klantroef login``, ``logout`` and ``media ...``.

They talk to any running Klantroef over HTTP like any other client (httpx), with
the URL and token ``login`` keeps in a per-user file (:mod:`.config`). This
module only declares the commands: the work is in :mod:`.commands`, imported
when one runs, so ``klantroef serve`` does not load httpx or rich and these
commands do not load the server (see :mod:`klantroef_app.console`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

COMMANDS = frozenset({"login", "logout", "media"})


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the client commands to the ``klantroef`` parser."""
    login = commands.add_parser("login", help="log in to a running Klantroef and keep the token")
    login.add_argument("--url", required=True, help="the server, e.g. https://media.example.com")
    login.add_argument("--email", required=True)
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of asking",
    )
    login.set_defaults(run=_run, action="login")
    logout = commands.add_parser("logout", help="revoke the kept token and forget it")
    logout.set_defaults(run=_run, action="logout")

    media = commands.add_parser("media", help="the media catalogue of the server logged in to")
    actions = media.add_subparsers(dest="media_command", required=True)
    upload = actions.add_parser("upload", help="upload an audio or video file, with progress")
    upload.add_argument("file", help="the file to upload")
    upload.add_argument("--title", help="its title (default: the file name)")
    upload.set_defaults(run=_run, action="upload")
    listing = actions.add_parser("list", help="every media item, newest first")
    listing.set_defaults(run=_run, action="list")
    for name, text in (
        ("link", "a signed stream link for the item (it expires)"),
        ("analytics", "the item's views: totals and a per-day chart"),
        ("delete", "delete the item, its file and its views"),
    ):
        command = actions.add_parser(name, help=text)
        command.add_argument("media_id", metavar="ID")
        command.set_defaults(run=_run, action=name)


def _run(args: argparse.Namespace) -> int:
    from klantroef_app.client_cli.commands import run

    return run(args)


def main(argv: Sequence[str]) -> int:
    """The client commands alone, without the server's."""
    parser = argparse.ArgumentParser(prog="klantroef", description="Klantroef media backend")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return _run(args)
