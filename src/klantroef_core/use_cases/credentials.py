"""The errors about credentials, worded once: every use case that checks a token uses these."""

from __future__ import annotations

from klantroef_core.errors import Forbidden, TokenRejected, Unauthorized

_MISSING = "a token is required (Authorization: Bearer, or a stream link's ?token=)"
_REJECTED = {
    "expired": "the token has expired",
    "invalid": "the token is not valid",
}


def token_missing() -> Unauthorized:
    """401 ``token_missing``: the request carries no token at all."""
    return Unauthorized(_MISSING, code="token_missing")


def link_missing() -> Forbidden:
    """403 ``token_missing``: a stream request without its link's token (no login to offer)."""
    return Forbidden(_MISSING, code="token_missing")


def access_refused(rejection: TokenRejected) -> Unauthorized:
    """401 for an access token the signer rejected: ``token_invalid`` or ``token_expired``."""
    return Unauthorized(_REJECTED[rejection.reason], code=f"token_{rejection.reason}")


def link_refused(rejection: TokenRejected) -> Forbidden:
    """403 for a stream token the signer rejected: ``token_invalid`` or ``token_expired``."""
    return Forbidden(_REJECTED[rejection.reason], code=f"token_{rejection.reason}")
