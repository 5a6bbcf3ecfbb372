"""Access tokens and stream links: what is signed verifies, and nothing else does."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import OctKey

from klantroef_adapters.signing import JwtSigner, KeyRing, KeyTooShortError
from klantroef_core.domain.tokens import AccessClaims, StreamClaims
from klantroef_core.errors import TokenRejected

ACCESS = KeyRing({"a1": b"a" * 32}, "a1")
STREAM = KeyRing({"s1": b"s" * 32}, "s1")
SIGNER = JwtSigner(ACCESS, STREAM)
START = datetime(2026, 1, 1, tzinfo=UTC)

moments = st.integers(min_value=0, max_value=10 * 365 * 86400).map(
    lambda s: START + timedelta(seconds=s)
)
lifetimes = st.integers(min_value=1, max_value=30 * 86400).map(lambda s: timedelta(seconds=s))
ids = st.uuids().map(str)


def access_claims(subject: str, token_id: str, issued: datetime, ttl: timedelta) -> AccessClaims:
    return AccessClaims(subject, token_id, issued, issued + ttl)


@given(ids, ids, moments, lifetimes)
def test_a_signed_access_token_verifies_to_its_claims(
    subject: str, token_id: str, issued: datetime, ttl: timedelta
) -> None:
    claims = access_claims(subject, token_id, issued, ttl)
    assert SIGNER.verify_access(SIGNER.sign_access(claims), issued) == claims


@settings(max_examples=300)
@given(ids, moments, st.data())
def test_any_change_to_a_signed_token_is_rejected(
    token_id: str, issued: datetime, data: st.DataObject
) -> None:
    token = SIGNER.sign_access(access_claims("admin", token_id, issued, timedelta(hours=1)))
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=")
    )
    tampered = token[:position] + replacement + token[position + 1 :]
    if _same_bytes(tampered, token):
        return  # base64url has "don't care" bits in the last character of a segment
    with pytest.raises(TokenRejected):
        SIGNER.verify_access(tampered, issued)


def _same_bytes(a: str, b: str) -> bool:
    try:
        return [_b64(p) for p in a.split(".")] == [_b64(p) for p in b.split(".")]
    except ValueError:
        return False


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@given(moments, lifetimes)
def test_a_token_is_refused_from_the_second_its_exp_passes(
    issued: datetime, ttl: timedelta
) -> None:
    token = SIGNER.sign_access(access_claims("admin", "t1", issued, ttl))
    SIGNER.verify_access(token, issued + ttl - timedelta(microseconds=1))
    for later in (issued + ttl, issued + ttl + timedelta(days=400)):
        with pytest.raises(TokenRejected) as caught:
            SIGNER.verify_access(token, later)
        assert caught.value.reason == "expired"


def test_a_stream_token_is_not_an_access_token_nor_the_reverse() -> None:
    stream = SIGNER.sign_stream(StreamClaims("m1", "t1", START, START + timedelta(minutes=10)))
    access = SIGNER.sign_access(access_claims("admin", "t2", START, timedelta(hours=1)))
    with pytest.raises(TokenRejected):
        SIGNER.verify_access(stream, START)
    with pytest.raises(TokenRejected):
        SIGNER.verify_stream(access, START)


def test_a_rotated_key_still_verifies_old_tokens_and_signs_with_the_new_one() -> None:
    old = JwtSigner(KeyRing({"k1": b"1" * 32}, "k1"), STREAM)
    new = JwtSigner(KeyRing({"k1": b"1" * 32, "k2": b"2" * 32}, "k2"), STREAM)
    claims = access_claims("admin", "t1", START, timedelta(hours=1))
    assert new.verify_access(old.sign_access(claims), START) == claims
    header = json.loads(_b64(new.sign_access(claims).split(".")[0]))
    assert header == {"alg": "HS256", "kid": "k2", "typ": "JWT"}


def test_a_token_signed_with_a_key_we_no_longer_hold_is_refused() -> None:
    retired = JwtSigner(KeyRing({"k0": b"0" * 32}, "k0"), STREAM)
    token = retired.sign_access(access_claims("admin", "t1", START, timedelta(hours=1)))
    with pytest.raises(TokenRejected):
        SIGNER.verify_access(token, START)


def _segment(part: dict[str, object] | dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _unsigned(header: dict[str, str], claims: dict[str, object]) -> str:
    return f"{_segment(header)}.{_segment(claims)}."


def test_alg_none_is_refused() -> None:
    now = int(START.timestamp())
    claims = {
        "iss": "klantroef",
        "aud": "klantroef:api",
        "sub": "a",
        "jti": "j",
        "iat": now,
        "exp": now + 60,
    }
    with pytest.raises(TokenRejected):
        SIGNER.verify_access(_unsigned({"alg": "none", "kid": "a1"}, claims), START)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "...", "x" * 5000, "e30.e30.e30"])
def test_garbage_is_refused_as_invalid(garbage: str) -> None:
    with pytest.raises(TokenRejected) as caught:
        SIGNER.verify_access(garbage, START)
    assert caught.value.reason == "invalid"


def test_keys_shorter_than_32_bytes_are_refused_at_start() -> None:
    with pytest.raises(KeyTooShortError):
        KeyRing({"k": b"x" * 31}, "k")


def test_access_and_stream_keys_must_differ() -> None:
    with pytest.raises(ValueError, match="differ"):
        JwtSigner(ACCESS, ACCESS)


@pytest.mark.parametrize(("issued", "expires"), [(0, 10**30), (-1, 2**40), (0, 2**63)])
def test_genuine_tokens_with_times_no_datetime_can_hold_are_refused_as_invalid(
    issued: int, expires: int
) -> None:
    claims = {"iss": "klantroef", "aud": "klantroef:api", "sub": "a", "jti": "t"}
    key = OctKey.import_key(b"a" * 32, {"kid": "a1"})
    header = {"alg": "HS256", "kid": "a1", "typ": "JWT"}
    token = jwt.encode(header, {**claims, "iat": issued, "exp": expires}, key)
    with pytest.raises(TokenRejected) as caught:
        SIGNER.verify_access(token, START)
    assert caught.value.reason == "invalid"


def test_a_token_verified_before_is_still_checked_against_the_clock_each_time() -> None:
    """Verified tokens are remembered; what depends on time is checked every time."""
    old = KeyRing({"a0": b"o" * 32, "a1": b"a" * 32}, "a0")
    retired = KeyRing({"a0": b"o" * 32, "a1": b"a" * 32}, "a1", not_after={"a0": 1_767_229_200})
    claims = access_claims("admin", "t-1", START, timedelta(hours=2))  # 00:00 to 02:00
    token = JwtSigner(old, STREAM).sign_access(claims)
    signer = JwtSigner(retired, STREAM)  # the key that signed it is refused from 01:00
    assert signer.verify_access(token, START) == claims  # remembered from here on
    assert signer.verify_access(token, START + timedelta(minutes=30)) == claims
    with pytest.raises(TokenRejected, match="invalid"):  # the retired key's end: 01:00
        signer.verify_access(token, START + timedelta(hours=1))
    fresh = JwtSigner(ACCESS, STREAM)
    token = SIGNER.sign_access(claims)
    assert fresh.verify_access(token, START) == claims
    with pytest.raises(TokenRejected, match="expired"):
        fresh.verify_access(token, START + timedelta(hours=2))
    with pytest.raises(TokenRejected, match="invalid"):  # before its iat: not ours to accept
        fresh.verify_access(token, START - timedelta(minutes=5))
