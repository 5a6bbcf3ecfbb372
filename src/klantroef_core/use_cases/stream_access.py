"""Checking a stream link's token against the media it is used for."""

from __future__ import annotations

from dataclasses import dataclass

from klantroef_core.domain.tokens import StreamClaims
from klantroef_core.errors import Forbidden, TokenRejected
from klantroef_core.ports import Clock, Signer
from klantroef_core.use_cases.credentials import link_missing, link_refused


@dataclass(frozen=True, slots=True)
class CheckStreamToken:
    """A stream token is good for exactly one media item, until it expires.

    Raises Forbidden with code ``token_missing``, ``token_invalid`` (forged,
    malformed, an access token), ``token_expired`` or ``token_wrong_media``.

    Runs on every stream request: each seek is a new request.
    """

    signer: Signer
    clock: Clock

    def __call__(self, media_id: str, token: str | None) -> StreamClaims:
        if not token:
            raise link_missing()
        try:
            claims = self.signer.verify_stream(token, self.clock.now())
        except TokenRejected as rejection:
            raise link_refused(rejection) from None
        if claims.media_id != media_id:
            raise Forbidden("the token is for another media item", code="token_wrong_media")
        return claims
