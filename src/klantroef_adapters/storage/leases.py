"""Short, renewable claims on a name, shared by every host: one writer per upload.

An upload's bytes in a shared store (S3) can be reached from any host, so the
"second writer is refused" promise of ``PartialUploads`` needs a claim every
host sees. A claim expires on its own (a host that dies holding it blocks the
upload only until then) and is renewed while its holder works.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Protocol

from klantroef_adapters.system import SystemClock
from klantroef_core.errors import Unavailable, UploadBusy
from klantroef_core.ports import Clock

_log = logging.getLogger(__name__)


class UploadLeases(Protocol):
    """Claims on names, each held by one holder until released or expired.

    - ``claim`` takes ``name`` for ``holder`` for ``seconds`` and says whether it did:
      it does when nobody holds the name or the last claim has expired.
    - ``renew`` extends a claim ``holder`` still has and says whether it had it.
    - ``release`` gives a claim up (only ``holder``'s; idempotent).
    - When the store cannot be used, each raises :class:`~klantroef_core.errors.Unavailable`.
    """

    async def claim(self, name: str, holder: str, seconds: float) -> bool: ...

    async def renew(self, name: str, holder: str, seconds: float) -> bool: ...

    async def release(self, name: str, holder: str) -> None: ...


class HeldLease:
    """A claim being held: :meth:`check` raises once it may have been lost."""

    def __init__(self) -> None:
        self.lost: BaseException | None = None

    def check(self) -> None:
        """Raise if the claim could not be renewed (another host may hold it by now)."""
        if self.lost is not None:
            raise self.lost


@asynccontextmanager
async def held(leases: UploadLeases, name: str, seconds: float) -> AsyncIterator[HeldLease]:
    """Hold ``name`` for the block's duration, renewed every third of ``seconds``.

    Raises :class:`~klantroef_core.errors.UploadBusy` when someone else holds it. The
    claim is released however the block ends (an error, a cancellation: shielded);
    if the host dies, it expires ``seconds`` after its last renewal.
    """
    holder = secrets.token_hex(8)
    if not await leases.claim(name, holder, seconds):
        raise UploadBusy(name)
    lease = HeldLease()

    async def renew() -> None:
        while True:
            await asyncio.sleep(seconds / 3)
            try:
                kept = await leases.renew(name, holder, seconds)
            except Unavailable as exc:
                lease.lost = exc
                return
            if not kept:
                lease.lost = UploadBusy(name)
                return

    renewing = asyncio.create_task(renew())
    try:
        yield lease
    finally:
        renewing.cancel()
        with suppress(asyncio.CancelledError):
            await renewing
        try:
            await asyncio.shield(leases.release(name, holder))
        except Unavailable:  # it expires on its own
            _log.warning("could not release the claim on upload %s", name, exc_info=True)


class InMemoryUploadLeases:
    """Claims within one process (``memory://``, or a test): a dict, expiry read from ``clock``."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._held: dict[str, tuple[str, datetime]] = {}

    def _until(self, seconds: float) -> datetime:
        return self._clock.now() + timedelta(seconds=seconds)

    async def claim(self, name: str, holder: str, seconds: float) -> bool:
        current = self._held.get(name)
        if current is not None and current[1] > self._clock.now():
            return False
        self._held[name] = (holder, self._until(seconds))
        return True

    async def renew(self, name: str, holder: str, seconds: float) -> bool:
        current = self._held.get(name)
        if current is None or current[0] != holder:
            return False
        self._held[name] = (holder, self._until(seconds))
        return True

    async def release(self, name: str, holder: str) -> None:
        current = self._held.get(name)
        if current is not None and current[0] == holder:
            del self._held[name]
