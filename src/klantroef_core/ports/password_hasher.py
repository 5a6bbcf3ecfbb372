"""Password hashing."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    """Slow, salted password hashing (argon2id in production).

    Implementations must not block the event loop: run the work in a thread.
    """

    async def hash(self, password: str) -> str:
        """An encoded hash of ``password`` with a fresh salt."""
        ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; False (never an error) for a mismatch or a bad hash."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        ...

    @property
    def dummy_hash(self) -> str:
        """A valid hash of a random secret, to verify against for unknown emails."""
        ...
