"""What the view log and the view limiter remember of a client: its IP, or a keyed hash of it.

``KLANTROEF_IP_STORAGE=raw`` (the default, as the product has always tracked IPs)
keeps the normalised address. ``hmac`` keeps HMAC-SHA256(secret, address) in hex
instead: the same address always gives the same value, so unique counts and rate
limits stay exact, but nothing stored (database rows, Redis keys) reveals an address
without the secret. Changing the secret starts every client afresh.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass, field

from klantroef_core.errors import InvalidInput

MIN_KEY_BYTES = 16


class IpStorage(enum.StrEnum):
    """How client addresses are kept."""

    RAW = "raw"
    HMAC = "hmac"


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """Turns a resolved client address into the identity that is logged and rate limited."""

    storage: IpStorage = IpStorage.RAW
    key: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if self.storage is IpStorage.HMAC and len(self.key) < MIN_KEY_BYTES:
            raise InvalidInput(
                f"hashing client addresses needs a secret of at least {MIN_KEY_BYTES} bytes",
                code="bad_ip_hash_secret",
            )

    @classmethod
    def configured(cls, storage: str, secret: str | None) -> ClientIdentity:
        """From the settings: ``storage`` is ``raw`` or ``hmac``; ``secret`` keys the hash."""
        try:
            mode = IpStorage(storage)
        except ValueError as exc:
            raise InvalidInput(
                f"IP storage must be 'raw' or 'hmac', not {storage!r}", code="bad_ip_storage"
            ) from exc
        key = (secret or "").encode() if mode is IpStorage.HMAC else b""
        return cls(mode, key)

    def of(self, client_ip: str) -> str:
        """The identity of ``client_ip`` (an address as resolved by ``TrustedProxies``)."""
        if self.storage is IpStorage.RAW:
            return client_ip
        return hmac.new(self.key, client_ip.encode(), hashlib.sha256).hexdigest()
