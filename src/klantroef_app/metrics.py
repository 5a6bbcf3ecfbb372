"""Where this process's metrics are kept and how a scrape reads them.

One process (tests, ``in_memory()``): the metrics live in a registry of the
container's own, and a scrape renders it. Several workers (``klantroef serve``
always runs this way, one worker or many): prometheus-client's multiprocess
mode. ``serve`` makes a fresh folder for each start and names it in
``PROMETHEUS_MULTIPROC_DIR``; every worker writes its counters to its own files
there, and a scrape, whichever worker answers it, merges every file, so totals
cover all workers, including ones that died (a counter must not go back). When
a worker stops it is marked dead (``mark_process_dead``: what it removes are
the live-gauge files, which Klantroef has none of today); the folder itself is
removed when ``serve`` exits.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

from prometheus_client import CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The multiprocess folder, when this process is one of several workers."""
    return os.environ.get(MULTIPROC_ENV) or None


def metrics_registry() -> CollectorRegistry | None:
    """A registry for this container's metrics; None in multiprocess mode (files instead).

    prometheus-client picks its value class when it is first imported. ``serve``
    sets the folder after that import and granian forks its workers from that
    process, so the choice is made again here, before any metric exists.
    """
    if multiprocess_dir() is None:
        return CollectorRegistry(auto_describe=True)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return None


def _render_all_workers(folder: str) -> bytes:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def metrics_renderer(registry: CollectorRegistry | None) -> Callable[[], bytes]:
    """What a scrape answers: this registry, or every worker's files merged."""
    if registry is not None:
        return partial(generate_latest, registry)
    folder = multiprocess_dir()
    if folder is None:
        raise ValueError(f"multiprocess metrics need {MULTIPROC_ENV}")
    return partial(_render_all_workers, folder)


async def worker_stopped() -> None:
    """Mark this worker dead in the multiprocess folder (an app shutdown hook)."""
    folder = multiprocess_dir()
    if folder is not None:
        mark_process_dead(os.getpid(), folder)  # type: ignore[no-untyped-call]
