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
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from klantroef_app.container import Container, bootstrap, close
from klantroef_app.settings import Settings
from klantroef_core.domain.media import Media

PAGE = 100
logger = logging.getLogger("klantroef.media")


def add_media_commands(commands: Any) -> None:
    """Add ``media probe`` to the ``klantroef`` command's subcommands."""
    media = commands.add_parser("media", help="maintenance of stored media")
    actions = media.add_subparsers(dest="media_command", required=True)
    probe = actions.add_parser(
        "probe", help="read the metadata and make the poster of items that have none"
    )
    probe.add_argument("--all", action="store_true", help="every item without metadata")
    probe.add_argument("ids", nargs="*", metavar="ID", help="these items")


def run_media_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``klantroef media ...``; 0 when every item asked for was read (or had been)."""
    if not args.all and not args.ids:
        print("klantroef media probe: name items by ID, or give --all")
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
            outcome = await container.probe_stored_media()(item)
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
