"""The auth use cases from the composition root, in memory, with a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from klantroef_adapters.passwords import Argon2PasswordHasher
from klantroef_adapters.testing.strategies import emails, passwords
from klantroef_core.domain.admin import Email
from klantroef_core.domain.rates import Rate
from klantroef_core.errors import Conflict, Forbidden, InvalidInput, RateLimited, Unauthorized
from tests import worlds
from tests.fakes import FakeClock

PASSWORD = "correct horse battery"
DEFAULT_LOGIN_RATE = Rate(10, 60)


class World:
    """The auth use cases from the composition root, every store in memory."""

    def __init__(self, *, signup_open: bool = False, login_rate: Rate = DEFAULT_LOGIN_RATE) -> None:
        self.clock = FakeClock()
        self.container = worlds.world(
            worlds.settings(signup_open=signup_open, login_rate=login_rate, access_token_ttl=3600),
            clock=self.clock,
        )
        self.admins = self.container.admins()
        self.hasher = self.container.hasher()
        self.signup = self.container.signup()
        self.login = self.container.login()
        self.authenticate = self.container.authenticate()
        self.current_admin = self.container.current_admin()
        self.logout = self.container.logout()


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
    ann = await world.signup("ann@example.com", PASSWORD, actor_id=None)
    bob = await world.signup("bob@example.com", PASSWORD, actor_id=None)
    assert await world.admins.get_by_email(Email("ann@example.com")) == ann
    assert await world.admins.get_by_email(Email("bob@example.com")) == bob
    assert ann.id != bob.id


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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(email=emails(), password=passwords())
async def test_any_valid_email_and_password_sign_up_and_log_in(email: Email, password: str) -> None:
    world = World()
    admin = await world.signup(email.value.upper(), password, actor_id=None)
    assert admin.email == email
    issued = await world.login(f"  {email.value} ", password, "192.0.2.1")
    assert await world.current_admin(await world.authenticate(issued.token)) == admin


@settings(max_examples=50, deadline=None)
@given(password=passwords(valid=False))
async def test_any_password_outside_the_policy_is_refused(password: str) -> None:
    world = World()
    with pytest.raises(InvalidInput) as caught:
        await world.signup("ann@example.com", password, actor_id=None)
    assert caught.value.code == "weak_password"
    assert not await world.admins.any_exist()
