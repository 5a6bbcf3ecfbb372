"""Signing and verifying access tokens and stream links."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from klantroef_core.domain.tokens import AccessClaims, StreamClaims


class Signer(Protocol):
    """Signs tokens and checks them, against the given moment.

    Access tokens and stream links use different keys and audiences: neither
    verifies as the other. ``verify_*`` raise
    :class:`~klantroef_core.errors.TokenRejected` with reason ``"expired"`` for a
    genuine token whose ``exp`` (plus the leeway, for stream links) has passed,
    and ``"invalid"`` for anything else: malformed, forged, signed with an unknown
    key, the other kind of token, or claims that are missing or out of range.
    Signing then verifying returns the same claims (times in whole seconds).
    """

    def sign_access(self, claims: AccessClaims) -> str:
        """A compact token carrying ``claims``."""
        ...

    def verify_access(self, token: str, now: datetime) -> AccessClaims:
        """The claims of a genuine, unexpired access token."""
        ...

    def sign_stream(self, claims: StreamClaims) -> str:
        """A compact stream token carrying ``claims``."""
        ...

    def verify_stream(self, token: str, now: datetime) -> StreamClaims:
        """The claims of a genuine, unexpired stream token (any media)."""
        ...
