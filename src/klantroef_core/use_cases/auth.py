"""Signing up, logging in and out, and recognising an admin by token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from klantroef_core.domain.admin import Admin, Email, check_password_policy
from klantroef_core.domain.rates import Rate
from klantroef_core.domain.tokens import AccessClaims, IssuedToken
from klantroef_core.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidInput,
    RateLimited,
    TokenRejected,
    Unauthorized,
)
from klantroef_core.ports import (
    AdminRepository,
    Clock,
    IdGenerator,
    PasswordHasher,
    RateLimiter,
    Signer,
    TokenStore,
)
from klantroef_core.use_cases.credentials import access_refused, token_missing

BAD_CREDENTIALS = "email or password is incorrect"


def _signup_closed() -> Forbidden:
    return Forbidden("signup is closed: ask an admin to create your account", code="signup_closed")


@dataclass(frozen=True, slots=True)
class Signup:
    """Create an admin: open while none exists, then only for admins unless signup is open."""

    admins: AdminRepository
    hasher: PasswordHasher
    clock: Clock
    ids: IdGenerator
    signup_open: bool = False

    async def __call__(self, email: str, password: str, actor_id: str | None) -> Admin:
        """Create the account; ``actor_id`` is the signed-in admin making it, if any."""
        address = Email.parse(email)
        check_password_policy(password)
        if actor_id is None and not self.signup_open and await self.admins.any_exist():
            raise _signup_closed()
        admin = Admin(
            id=self.ids.new_id(),
            email=address,
            password_hash=await self.hasher.hash(password),
            created_at=self.clock.now(),
        )
        try:
            if actor_id is None and not self.signup_open:
                if not await self.admins.add_if_none_exist(admin):
                    raise _signup_closed()
            else:
                await self.admins.add(admin)
        except AlreadyExists:
            raise Conflict("this email is already taken", code="email_taken") from None
        return admin


@dataclass(frozen=True, slots=True)
class Login:
    """Trade an email and password for an access token, limited per IP and per email.

    Unknown emails and wrong passwords take the same path (a verify against a
    dummy hash) and give the same error, so neither timing nor message tells
    which emails exist. Limiter failures fail closed: no limit, no login.
    """

    admins: AdminRepository
    hasher: PasswordHasher
    signer: Signer
    clock: Clock
    ids: IdGenerator
    limiter: RateLimiter
    token_ttl: timedelta
    rate: Rate

    async def __call__(self, email: str, password: str, client_ip: str) -> IssuedToken:
        try:
            address: Email | None = Email.parse(email)
        except InvalidInput:
            address = None  # cannot exist; still verify below, so timing tells nothing
        await self._limit(f"login:ip:{client_ip}")
        await self._limit(f"login:email:{address or email.strip().lower()[:254]}")
        admin = await self.admins.get_by_email(address) if address else None
        encoded = admin.password_hash if admin else self.hasher.dummy_hash
        matches = await self.hasher.verify(encoded, password)
        if admin is None or not matches:
            raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
        if self.hasher.needs_rehash(admin.password_hash):
            await self.admins.update_password_hash(admin.id, await self.hasher.hash(password))
        now = self.clock.now().replace(microsecond=0)  # tokens carry whole seconds
        claims = AccessClaims(
            subject=admin.id,
            token_id=self.ids.new_id(),
            issued_at=now,
            expires_at=now + self.token_ttl,
        )
        return IssuedToken(self.signer.sign_access(claims), claims.expires_at)

    async def _limit(self, key: str) -> None:
        decision = await self.limiter.hit(key, self.rate, self.clock.now().timestamp())
        if not decision.allowed:
            raise RateLimited(
                "too many login attempts; try again later",
                retry_after=decision.retry_after,
                policy="login",
                limit=self.rate.limit,
                window=self.rate.period,
            )


@dataclass(frozen=True, slots=True)
class Authenticate:
    """Recognise an access token: genuine, unexpired and not revoked.

    Costs one revocation lookup and no database read: the token's subject is
    signed, and admins are never deleted through the product. Routes that need
    the admin's record ask :class:`CurrentAdmin`.
    """

    signer: Signer
    tokens: TokenStore
    clock: Clock

    async def __call__(self, token: str | None) -> AccessClaims:
        if not token:
            raise token_missing()
        try:
            claims = self.signer.verify_access(token, self.clock.now())
        except TokenRejected as rejection:
            raise access_refused(rejection) from None
        if await self.tokens.is_revoked(claims.token_id):
            raise Unauthorized("the token was revoked", code="token_revoked")
        return claims


@dataclass(frozen=True, slots=True)
class CurrentAdmin:
    """The admin record behind authenticated claims."""

    admins: AdminRepository

    async def __call__(self, claims: AccessClaims) -> Admin:
        admin = await self.admins.get(claims.subject)
        if admin is None:
            raise access_refused(TokenRejected("invalid"))
        return admin


@dataclass(frozen=True, slots=True)
class Logout:
    """Revoke an access token everywhere, until it would have expired."""

    tokens: TokenStore

    async def __call__(self, claims: AccessClaims) -> None:
        await self.tokens.revoke(claims.token_id, claims.expires_at)
