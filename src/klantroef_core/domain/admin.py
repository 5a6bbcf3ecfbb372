"""Admins, their email addresses and the password policy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from klantroef_core.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 254
_PASSWORD_RULE = f"a password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"

# A pragmatic shape check: one "@", a non-empty local part without spaces or control
# characters, and a domain with at least one dot whose labels are letters, digits
# and hyphens. The excluded characters are spelt out rather than written ``\s``:
# Python's and ECMAScript's ``\s`` differ (U+001C to U+001F, U+0085, U+FEFF), and
# clients check the OpenAPI pattern with the latter.
_LOCAL = r"^[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]{1,64}@"
_DOMAIN = (
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
EMAIL_PATTERN = _LOCAL + _DOMAIN
"""The shape as the OpenAPI schema states it. With at most 254 characters in all, a
domain that matches it is never longer than the 253 the full check also asserts."""
_EMAIL_SHAPE = re.compile(_LOCAL + r"(?=.{1,253}$)" + _DOMAIN)


@dataclass(frozen=True, slots=True)
class Email:
    """An email address, normalised: trimmed and lower-cased, so lookups ignore case."""

    value: str

    def __post_init__(self) -> None:
        if self.value != self.value.strip().lower():
            raise InvalidInput("email is not a valid address", code="bad_email")
        if len(self.value) > MAX_EMAIL_LENGTH or not _EMAIL_SHAPE.match(self.value):
            raise InvalidInput("email is not a valid address", code="bad_email")

    @classmethod
    def parse(cls, raw: str) -> Email:
        """Normalise and validate a user-supplied address."""
        return cls(raw.strip().lower())

    def __str__(self) -> str:
        return self.value


def check_password_policy(password: str) -> None:
    """Length only (NIST SP 800-63B): 8 to 1024 characters, no composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(_PASSWORD_RULE, code="weak_password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(_PASSWORD_RULE, code="weak_password")


@dataclass(frozen=True, slots=True)
class Admin:
    """An administrator account. ``password_hash`` is an encoded argon2id hash."""

    id: str
    email: Email
    password_hash: str
    created_at: datetime

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidInput("admin id must not be empty")
        if self.created_at.tzinfo is None:
            raise InvalidInput("created_at must be timezone-aware")
