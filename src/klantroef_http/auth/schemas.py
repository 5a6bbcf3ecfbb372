"""Request and response bodies (msgspec structs): the wire format, snake_case JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from klantroef_core.domain.admin import (
    EMAIL_PATTERN,
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Admin,
)

# What the schema can say, it says, and the door enforces it (400 naming the key);
# the core checks the same rules again for callers that do not come through HTTP.
Email = Annotated[str, msgspec.Meta(max_length=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN)]
NewPassword = Annotated[
    str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
]
AnyEmail = Annotated[str, msgspec.Meta(max_length=MAX_EMAIL_LENGTH)]
AnyPassword = Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD_LENGTH)]


class Credentials(msgspec.Struct, forbid_unknown_fields=False):
    """A new admin's email and password."""

    email: Email
    password: NewPassword


class LoginCredentials(msgspec.Struct, forbid_unknown_fields=False):
    """An email and password to log in with (any wrong pair is the same 401)."""

    email: AnyEmail
    password: AnyPassword


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
