"""One error hierarchy for every rule the core enforces.

Each error carries a stable machine ``code`` that clients may branch on; the
HTTP layer maps the classes (not the codes) to status codes in one table.
"""

from __future__ import annotations


class KlantroefError(Exception):
    """Base of every error the core raises on purpose."""

    code = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class InvalidInput(KlantroefError):
    """The request is well formed but a value breaks a rule (a bad email, a weak password)."""

    code = "invalid_input"


class BadRequest(KlantroefError):
    """The request cannot be understood at all (no file in an upload, a broken form)."""

    code = "bad_request"


class NotFound(KlantroefError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"


class Gone(KlantroefError):
    """What the request names existed but is gone for good (an expired upload)."""

    code = "gone"


class Conflict(KlantroefError):
    """The change would break a uniqueness rule (a taken email)."""

    code = "conflict"


class Unauthorized(KlantroefError):
    """No valid credentials: missing, malformed, forged, expired or revoked."""

    code = "unauthorized"


class Forbidden(KlantroefError):
    """Valid credentials that do not allow this action (closed signup, wrong link)."""

    code = "forbidden"


class RateLimited(KlantroefError):
    """Too many requests; ``retry_after`` says how many seconds to wait.

    ``policy`` (a short name), ``limit`` and ``window`` (seconds), when given,
    describe the quota that refused, so the response can advertise it
    (``RateLimit-Policy`` and ``RateLimit``).
    """

    code = "rate_limited"

    def __init__(
        self,
        detail: str,
        *,
        retry_after: float,
        code: str | None = None,
        policy: str | None = None,
        limit: int | None = None,
        window: float | None = None,
    ) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after
        self.policy = policy
        self.limit = limit
        self.window = window


class PayloadTooLarge(KlantroefError):
    """An upload passed the configured size limit."""

    code = "payload_too_large"


class UnsupportedMediaType(KlantroefError):
    """An upload's bytes are not a recognised audio or video container."""

    code = "unsupported_media_type"


class RangeNotSatisfiable(KlantroefError):
    """No byte of the requested range lies inside the file."""

    code = "range_not_satisfiable"

    def __init__(self, detail: str, *, size: int) -> None:
        super().__init__(detail)
        self.size = size


class Unavailable(KlantroefError):
    """A backing service (database, Redis) cannot be reached; fail closed."""

    code = "service_unavailable"


class PortError(Exception):
    """What an adapter reports about the outside world, in neutral words.

    Adapters raise these (and :class:`Unavailable`); the use case that called the
    port decides what each one means to the user, so no adapter picks an HTTP
    outcome or a wording. They are not ``KlantroefError``s: one that escapes a use
    case is a bug, and the HTTP layer answers it as one.
    """


class AlreadyExists(PortError):
    """A write found its key taken: an email, a media id, a blob key."""


class UnknownMedia(PortError):
    """A write refers to a media item that does not exist (any more)."""


class BlobMissing(PortError):
    """No bytes are stored under the key."""


class UnreadableMedia(PortError):
    """No demuxer or decoder could read the bytes (or not within the probe's bounds):
    ``reason`` says what failed, in words fit for the uploader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UploadBusy(PortError):
    """Another request is writing to the same partial upload right now."""


class TokenRejected(PortError):
    """A token failed verification: ``reason`` is ``"invalid"`` or ``"expired"``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token {reason}")
        self.reason = reason


class NeedsTranscoding(PortError):
    """Media that cannot be repackaged without re-encoding; ``reason`` says what stands in the way."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
