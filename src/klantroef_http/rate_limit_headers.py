"""``RateLimit-Policy`` and ``RateLimit`` headers, as draft-ietf-httpapi-ratelimit-headers-10 has them.

Both are structured-field lists of one named item::

    RateLimit-Policy: "views";q=30;w=60
    RateLimit: "views";r=29;t=60

``q`` is the quota and ``w`` the window in seconds; ``r`` is what remains of the
quota and ``t`` the seconds until more becomes available. Our limiter is a sliding
log, so on an accepted request ``t`` is when the whole quota is back (an upper
bound), and on a refused one it is when the next attempt can succeed, which is
also what ``Retry-After`` says.
"""

from __future__ import annotations

import math


def _seconds(value: float) -> int:
    return max(0, math.ceil(value))


def rate_limit_headers(
    policy: str, limit: int, window: float, remaining: int, reset_after: float
) -> dict[str, str]:
    """The two headers for a quota named ``policy`` of ``limit`` per ``window`` seconds."""
    name = '"' + policy.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return {
        "RateLimit-Policy": f"{name};q={limit};w={max(1, _seconds(window))}",
        "RateLimit": f"{name};r={max(0, remaining)};t={_seconds(reset_after)}",
    }
