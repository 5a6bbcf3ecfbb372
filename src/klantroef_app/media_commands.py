"""``klantroef media probe``: give items stored before probing existed their metadata and poster.

Runs on a host beside ``klantroef serve`` (the same settings): it reads each file
through the configured store (local folder or S3), writes the poster beside it
and the metadata into the item's row. Items that have metadata are skipped, so
the command can be run again after an interruption.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections import Counter
from collections.abc import AsyncIterator

from klantroef_app.container import Container, bootstrap, close
from klantroef_app.settings import Settings, SettingsError
from klantroef_core.domain.media import Media
from klantroef_core.errors import Unavailable

PAGE = 100
logger = logging.getLogger("klantroef.media")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``media probe`` to the ``klantroef`` command, under its ``media`` group.

    The group is the client commands' when they registered first, else made here.
    """
    media = commands.choices.get("media") or commands.add_parser("media", help="media items")
    actions = next(
        (a for a in media._actions if isinstance(a, argparse._SubParsersAction)),
        None,
    ) or media.add_subparsers(dest="media_command", required=True)
    probe = actions.add_parser(
        "probe",
        help="on the server's host: read the metadata and make the poster of items that have none",
    )
    probe.add_argument("--all", action="store_true", help="every item without metadata")
    probe.add_argument("ids", nargs="*", metavar="ID", help="these items")
    probe.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """``klantroef media probe``: 0 when every item asked for was read (or had been)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.all and not args.ids:
        print("klantroef media probe: name items by ID, or give --all", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"klantroef: {exc}", file=sys.stderr)
        return 2
    if settings.in_memory:
        print("nothing to probe: with memory:// no item outlives its process")
        return 0
    counts = asyncio.run(_probe(bootstrap(settings), args.ids, everything=args.all))
    print(", ".join(f"{status}: {count}" for status, count in sorted(counts.items())) or "no item")
    return 0 if counts.keys() <= {"probed", "skipped"} else 1


async def _probe(container: Container, ids: list[str], *, everything: bool) -> Counter[str]:
    counts: Counter[str] = Counter()
    try:
        async for item in _items(container, ids, everything=everything, counts=counts):
            try:
                outcome = await container.probe_stored_media()(item)
            except Unavailable as exc:  # out of time, or the database went away
                counts["unavailable"] += 1
                print(f"{item.id}: not probed now: {exc}")
                continue
            counts[outcome.status] += 1
            if outcome.status == "unreadable":
                print(f"{item.id}: cannot be read: {outcome.reason}")
            elif outcome.status == "probed":
                print(f"{item.id}: probed")
    finally:
        await close(container)
    return counts


async def _items(
    container: Container, ids: list[str], *, everything: bool, counts: Counter[str]
) -> AsyncIterator[Media]:
    """The items to probe: each named one, then (``--all``) each without metadata, by page."""
    repository = container.media_repository()
    for media_id in ids:
        item = await repository.get(media_id)
        if item is None:
            print(f"{media_id}: no such item")
            counts["not found"] += 1
        else:
            yield item
    if not everything:
        return
    after = None
    while page := await repository.list_page(PAGE, after):
        for item in page:
            if item.info is None:
                yield item
        after = (page[-1].created_at, page[-1].id)
