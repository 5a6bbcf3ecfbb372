"""Claims carried by access tokens and stream links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says: who, which token, and until when."""

    subject: str
    token_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StreamClaims:
    """What a verified stream link grants: streaming one media item until ``expires_at``."""

    media_id: str
    token_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly signed token and the moment it stops working."""

    token: str
    expires_at: datetime
