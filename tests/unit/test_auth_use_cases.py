"""The auth use cases on in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from klantroef_adapters.memory.admin_repository import InMemoryAdminRepository
from klantroef_adapters.memory.rate_limiter import InMemoryRateLimiter
from klantroef_adapters.memory.token_store import InMemoryTokenStore
from klantroef_adapters.passwords import Argon2PasswordHasher
from klantroef_adapters.signing import JwtSigner, KeyRing
from klantroef_core.domain.admin import Email
from klantroef_core.domain.rates import Rate
from klantroef_core.errors import Conflict, Forbidden, InvalidInput, RateLimited, Unauthorized
from klantroef_core.use_cases.auth import Authenticate, CurrentAdmin, Login, Logout, Signup
from tests.fakes import FakeClock, SequentialIds

PASSWORD = "correct horse battery"
DEFAULT_LOGIN_RATE = Rate(10, 60)


class World:
    """Every port the auth use cases need, in memory."""

    def __init__(self, *, signup_open: bool = False, login_rate: Rate = DEFAULT_LOGIN_RATE) -> None:
        self.clock = FakeClock()
        self.ids = SequentialIds()
        self.admins = InMemoryAdminRepository()
        self.hasher = Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        self.tokens = InMemoryTokenStore(self.clock)
        self.signer = JwtSigner(KeyRing({"a1": b"a" * 32}, "a1"), KeyRing({"s1": b"s" * 32}, "s1"))
        self.signup = Signup(self.admins, self.hasher, self.clock, self.ids, signup_open)
        self.login = Login(
            self.admins,
            self.hasher,
            self.signer,
            self.clock,
            self.ids,
            InMemoryRateLimiter(),
            timedelta(hours=1),
            login_rate,
        )
        self.authenticate = Authenticate(self.signer, self.tokens, self.clock)
        self.current_admin = CurrentAdmin(self.admins)
        self.logout = Logout(self.tokens)


async def test_the_first_signup_is_open_and_normalises_the_email() -> None:
    world = World()
    admin = await world.signup("  Ann@Example.COM ", PASSWORD, actor_id=None)
    assert admin.email == Email("ann@example.com")
    assert admin.password_hash.startswith("$argon2id$")


async def test_signup_closes_once_an_admin_exists() -> None:
    world = World()
    await world.signup("ann@example.com", PASSWORD, actor_id=None)
    with pytest.raises(Forbidden) as caught:
        await world.signup("bob@example.com", PASSWORD, actor_id=None)
    assert caught.value.code == "signup_closed"


async def test_an_admin_can_sign_up_another_admin() -> None:
    world = World()
    ann = await world.signup("ann@example.com", PASSWORD, actor_id=None)
    bob = await world.signup("bob@example.com", PASSWORD, actor_id=ann.id)
    assert await world.admins.get(bob.id) == bob


async def test_open_signup_lets_anyone_in() -> None:
    world = World(signup_open=True)
    await world.signup("ann@example.com", PASSWORD, actor_id=None)
    await world.signup("bob@example.com", PASSWORD, actor_id=None)
    assert len(world.admins.admins) == 2


async def test_a_taken_email_conflicts_whatever_its_case() -> None:
    world = World(signup_open=True)
    await world.signup("ann@example.com", PASSWORD, actor_id=None)
    with pytest.raises(Conflict):
        await world.signup("ANN@example.com", PASSWORD, actor_id=None)


@pytest.mark.parametrize("password", ["short", "x" * 1025])
async def test_passwords_outside_8_to_1024_characters_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await World().signup("ann@example.com", password, actor_id=None)
    assert caught.value.code == "weak_password"


@pytest.mark.parametrize("email", ["", "ann", "ann@", "@example.com", "a b@example.com", "ann@x"])
async def test_malformed_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await World().signup(email, PASSWORD, actor_id=None)
    assert caught.value.code == "bad_email"


async def test_login_gives_a_token_that_authenticates_its_admin() -> None:
    world = World()
    ann = await world.signup("ann@example.com", PASSWORD, actor_id=None)
    issued = await world.login("ANN@example.com", PASSWORD, "192.0.2.1")
    claims = await world.authenticate(issued.token)
    assert await world.current_admin(claims) == ann
    assert claims.expires_at == issued.expires_at == world.clock.now() + timedelta(hours=1)


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@example.com", "wrong password"), ("nobody@example.com", PASSWORD), ("junk", PASSWORD)],
)
async def test_unknown_emails_and_wrong_passwords_fail_alike(email: str, password: str) -> None:
    world = World()
    await world.signup("ann@example.com", PASSWORD, actor_id=None)
    with pytest.raises(Unauthorized) as caught:
        await world.login(email, password, "192.0.2.1")
    assert (caught.value.code, caught.value.detail) == (
        "bad_credentials",
        "email or password is incorrect",
    )


async def test_login_rehashes_a_hash_made_with_old_parameters() -> None:
    world = World()
    old = Argon2PasswordHasher(time_cost=2, memory_cost=8, parallelism=1)
    await world.signup("ann@example.com", PASSWORD, actor_id=None)
    admin = await world.admins.get_by_email(Email("ann@example.com"))
    assert admin is not None
    await world.admins.update_password_hash(admin.id, await old.hash(PASSWORD))
    await world.login("ann@example.com", PASSWORD, "192.0.2.1")
    rehashed = await world.admins.get(admin.id)
    assert rehashed is not None
    assert not world.hasher.needs_rehash(rehashed.password_hash)
    assert "t=1" in rehashed.password_hash


async def test_logins_are_limited_per_email_even_from_many_addresses() -> None:
    world = World(login_rate=Rate(3, 60))
    await world.signup("ann@example.com", PASSWORD, actor_id=None)
    for n in range(3):
        with pytest.raises(Unauthorized):
            await world.login("ann@example.com", "wrong password", f"192.0.2.{n}")
    with pytest.raises(RateLimited) as caught:
        await world.login("ann@example.com", PASSWORD, "192.0.2.99")
    assert 0 < caught.value.retry_after <= 60


async def test_a_logged_out_token_is_refused() -> None:
    world = World()
    await world.signup("ann@example.com", PASSWORD, actor_id=None)
    issued = await world.login("ann@example.com", PASSWORD, "192.0.2.1")
    claims = await world.authenticate(issued.token)
    await world.logout(claims)
    with pytest.raises(Unauthorized) as caught:
        await world.authenticate(issued.token)
    assert caught.value.code == "token_revoked"


async def test_a_token_is_refused_from_the_second_it_expires() -> None:
    world = World()
    await world.signup("ann@example.com", PASSWORD, actor_id=None)
    issued = await world.login("ann@example.com", PASSWORD, "192.0.2.1")
    world.clock.set(issued.expires_at - timedelta(seconds=1))
    await world.authenticate(issued.token)
    world.clock.set(issued.expires_at)
    with pytest.raises(Unauthorized) as caught:
        await world.authenticate(issued.token)
    assert caught.value.code == "token_expired"


async def test_a_missing_token_is_refused() -> None:
    with pytest.raises(Unauthorized) as caught:
        await World().authenticate(None)
    assert caught.value.code == "token_missing"
