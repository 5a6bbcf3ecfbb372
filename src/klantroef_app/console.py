"""The ``klantroef`` console script.

The HTTP client commands (``login``, ``logout``, ``media``) go straight to
:mod:`klantroef_app.client_cli`, so they start without importing the server
stack (Litestar, SQLAlchemy, Redis, ...); everything else, ``--help`` included,
goes to :mod:`klantroef_app.cli`, which knows every command (``media probe``,
which reads the files on the server's host, too).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from klantroef_app import client_cli

    if args and args[0] in client_cli.COMMANDS and not _full_media(args):
        return client_cli.main(args)
    from klantroef_app.cli import main as full

    return full(args)


def _full_media(args: list[str]) -> bool:
    """``media probe`` runs on the server's host (media_commands), and ``media --help``
    should list it: those go to the full command."""
    return args[0] == "media" and (len(args) == 1 or args[1] in ("probe", "-h", "--help"))


if __name__ == "__main__":
    raise SystemExit(main())
