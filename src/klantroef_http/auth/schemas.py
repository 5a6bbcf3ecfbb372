"""Request and response bodies (msgspec structs): the wire format, snake_case JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from klantroef_core.domain.admin import Admin


class Credentials(msgspec.Struct, forbid_unknown_fields=False):
    """Signup and login bodies."""

    email: str = msgspec.field()
    password: str = msgspec.field()


class AdminOut(msgspec.Struct):
    """An admin, as clients see one (never the hash)."""

    id: str
    email: str
    created_at: datetime

    @classmethod
    def of(cls, admin: Admin) -> AdminOut:
        return cls(id=admin.id, email=admin.email.value, created_at=admin.created_at)


class TokenOut(msgspec.Struct):
    """A freshly issued access token."""

    token: str
    expires_at: datetime
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
