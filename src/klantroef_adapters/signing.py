"""Access tokens and stream links as JWTs (joserfc, HS256 pinned, ``kid`` for rotation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet, OctKey

from klantroef_core.domain.tokens import AccessClaims, StreamClaims
from klantroef_core.errors import TokenRejected

ALGORITHM = "HS256"
MIN_KEY_BYTES = 32
MAX_TOKEN_LENGTH = 4096
ACCESS_AUDIENCE = "klantroef:api"
STREAM_AUDIENCE = "klantroef:stream"
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last moment a datetime holds
VERIFIED_TOKENS = 4096
"""Tokens whose signature and claims were checked, remembered per codec (a few MB at most)."""


class KeyTooShortError(ValueError):
    """A signing key shorter than 32 bytes: refused at start, not warned about."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The key that signs (``current_kid``) and every key that still verifies, by id.

    ``not_after`` bounds retired keys: a token whose key id is there is refused
    from that moment (Unix seconds) on, whatever its own ``exp`` says, so a
    retired key that leaked cannot mint tokens for long.
    """

    keys: Mapping[str, bytes]
    current_kid: str
    not_after: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.current_kid not in self.keys:
            raise ValueError(f"no key with id {self.current_kid!r}")
        for kid, secret in self.keys.items():
            if len(secret) < MIN_KEY_BYTES:
                raise KeyTooShortError(
                    f"key {kid!r} has {len(secret)} bytes; {MIN_KEY_BYTES} needed"
                )

    def key_set(self) -> KeySet:
        return KeySet([OctKey.import_key(s, {"kid": k}) for k, s in self.keys.items()])


class _Codec:
    """Sign and verify one kind of token against one key ring and audience."""

    def __init__(self, ring: KeyRing, issuer: str, audience: str, leeway: int) -> None:
        self._ring = ring
        self._keys = ring.key_set()
        self._signing_key = OctKey.import_key(
            ring.keys[ring.current_kid], {"kid": ring.current_kid}
        )
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._verified: dict[str, tuple[str, dict[str, Any]]] = {}

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": ALGORITHM, "kid": self._ring.current_kid, "typ": "JWT"}
        body = {"iss": self._issuer, "aud": self._audience, **claims}
        return jwt.encode(header, body, self._signing_key, algorithms=[ALGORITHM])

    def verify(self, token: str, now: datetime) -> dict[str, Any]:
        """The token's claims, if it is genuine and valid at ``now``.

        A token seen before skips the signature and the checks that do not
        depend on time (remembered: the same string always has the same
        signature, header and claims); what depends on time (expiry, a retired
        key's end, a future ``iat``) is checked on every call.
        """
        known = self._verified.get(token)
        if known is None:
            known = self._verify_new(token, now)
        kid, claims = known
        self._check_time(kid, claims, now)
        return claims

    def _verify_new(self, token: str, now: datetime) -> tuple[str, dict[str, Any]]:
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise TokenRejected("invalid")
        try:
            decoded = jwt.decode(token, self._keys, algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise TokenRejected("invalid") from exc
        kid = decoded.header.get("kid")
        if not isinstance(kid, str) or kid not in self._ring.keys:
            raise TokenRejected("invalid")
        claims = decoded.claims
        for name in ("exp", "iat"):
            moment = claims.get(name)
            if not isinstance(moment, int) or isinstance(moment, bool):
                raise TokenRejected("invalid")
            if not 0 <= moment <= MAX_TIMESTAMP:  # datetime could not hold it
                raise TokenRejected("invalid")
        self._check_time(kid, claims, now)
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=self._leeway,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            sub={"essential": True},
            jti={"essential": True},
            iat={"essential": True},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise TokenRejected("expired") from exc
        except JoseError as exc:
            raise TokenRejected("invalid") from exc
        if len(self._verified) >= VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]  # the oldest goes
        self._verified[token] = (kid, claims)
        return kid, claims

    def _check_time(self, kid: str, claims: dict[str, Any], now: datetime) -> None:
        moment = now.timestamp()
        retired = self._ring.not_after.get(kid)
        if retired is not None and moment >= retired:
            raise TokenRejected("invalid")
        # RFC 7519: valid only *before* exp. Checked first, so expiry has its own code.
        if moment >= claims["exp"] + self._leeway:
            raise TokenRejected("expired")
        if claims["iat"] > moment + self._leeway:  # issued in the future: not by us, not yet
            raise TokenRejected("invalid")
        not_before = claims.get("nbf")
        if not_before is not None and (
            not isinstance(not_before, int | float) or not_before > moment + self._leeway
        ):
            raise TokenRejected("invalid")


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class JwtSigner:
    """Access tokens and stream links, each with its own keys and audience."""

    def __init__(
        self,
        access_keys: KeyRing,
        stream_keys: KeyRing,
        issuer: str = "klantroef",
        stream_leeway_seconds: int = 5,
    ) -> None:
        if set(access_keys.keys.values()) & set(stream_keys.keys.values()):
            raise ValueError("access and stream keys must differ")
        self._access = _Codec(access_keys, issuer, ACCESS_AUDIENCE, leeway=0)
        self._stream = _Codec(stream_keys, issuer, STREAM_AUDIENCE, stream_leeway_seconds)

    def sign_access(self, claims: AccessClaims) -> str:
        return self._access.sign(
            {
                "sub": claims.subject,
                "jti": claims.token_id,
                "iat": int(claims.issued_at.timestamp()),
                "exp": int(claims.expires_at.timestamp()),
            }
        )

    def verify_access(self, token: str, now: datetime) -> AccessClaims:
        claims = self._access.verify(token, now)
        return AccessClaims(
            subject=str(claims["sub"]),
            token_id=str(claims["jti"]),
            issued_at=_at(claims["iat"]),
            expires_at=_at(claims["exp"]),
        )

    def sign_stream(self, claims: StreamClaims) -> str:
        return self._stream.sign(
            {
                "sub": claims.media_id,
                "jti": claims.token_id,
                "iat": int(claims.issued_at.timestamp()),
                "exp": int(claims.expires_at.timestamp()),
            }
        )

    def verify_stream(self, token: str, now: datetime) -> StreamClaims:
        claims = self._stream.verify(token, now)
        return StreamClaims(
            media_id=str(claims["sub"]),
            token_id=str(claims["jti"]),
            issued_at=_at(claims["iat"]),
            expires_at=_at(claims["exp"]),
        )
