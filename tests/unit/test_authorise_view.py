"""Who may log a view: the rule lives in the core, so it holds for every caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest

from klantroef_app import Settings, in_memory
from klantroef_core.domain.tokens import AccessClaims, StreamClaims
from klantroef_core.errors import Forbidden, Unauthorized
from klantroef_core.ports import Signer
from klantroef_core.use_cases.views import AuthoriseView
from tests.fakes import FakeClock

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ADMIN = AccessClaims("admin-1", "jti-1", NOW, NOW + timedelta(hours=1))


class World(NamedTuple):
    authorise: AuthoriseView
    clock: FakeClock
    signer: Signer


@pytest.fixture
def world() -> World:
    clock = FakeClock(NOW)
    container = in_memory(Settings(), clock=clock)
    return World(container.authorise_view(), clock, container.signer())


def link(signer: Signer, media_id: str, lifetime: timedelta = timedelta(minutes=10)) -> str:
    return signer.sign_stream(StreamClaims(media_id, "link-1", NOW, NOW + lifetime))


def test_an_admin_may_log_a_view_of_anything_without_a_link(
    world: World,
) -> None:
    authorise, _, _ = world
    authorise("m1", admin=ADMIN, stream_token=None)
    authorise("m1", admin=ADMIN, stream_token="garbage")  # the admin's token decides alone


def test_a_viewer_may_log_a_view_with_this_items_link(
    world: World,
) -> None:
    authorise, _, signer = world
    authorise("m1", admin=None, stream_token=link(signer, "m1"))


@pytest.mark.parametrize("token", [None, ""])
def test_with_neither_credential_it_is_401_token_missing(world: World, token: str | None) -> None:
    authorise, _, _ = world
    with pytest.raises(Unauthorized) as caught:
        authorise("m1", admin=None, stream_token=token)
    assert caught.value.code == "token_missing"


def test_a_link_of_another_item_forged_or_expired_is_403_with_its_reason(
    world: World,
) -> None:
    authorise, clock, signer = world
    cases = {
        "token_wrong_media": link(signer, "m2"),
        "token_invalid": link(signer, "m1")[:-2] + "xx",
    }
    for code, token in cases.items():
        with pytest.raises(Forbidden) as caught:
            authorise("m1", admin=None, stream_token=token)
        assert caught.value.code == code
    expiring = link(signer, "m1", timedelta(seconds=30))
    clock.advance(minutes=1)
    with pytest.raises(Forbidden) as caught:
        authorise("m1", admin=None, stream_token=expiring)
    assert caught.value.code == "token_expired"
