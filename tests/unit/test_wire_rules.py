"""The rules the OpenAPI schema states never admit what the core refuses.

The HTTP layer enforces these patterns and lengths at the door (400); the core
checks its own rules again. If a pattern admitted a value the core refuses, a
schema-valid request would get a 422, and clients and fuzzers could not trust
the document.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from klantroef_core.domain.admin import EMAIL_PATTERN, MAX_EMAIL_LENGTH, Email
from klantroef_core.domain.media import MAX_TITLE_LENGTH, TITLE_PATTERN, normalise_title


@given(st.text(max_size=MAX_TITLE_LENGTH))
def test_a_title_the_wire_pattern_admits_is_a_title_the_core_accepts(raw: str) -> None:
    if re.fullmatch(TITLE_PATTERN, raw):
        assert normalise_title(raw) == raw.strip()


@given(st.from_regex(EMAIL_PATTERN).filter(lambda raw: len(raw) <= MAX_EMAIL_LENGTH))
def test_an_email_the_wire_pattern_admits_is_an_email_the_core_accepts(raw: str) -> None:
    assert Email.parse(raw).value == raw.strip().lower()


def test_the_longest_domain_the_wire_admits_is_still_a_domain() -> None:
    label = "d" * 63
    domain = ".".join([label, label, label, "d" * 61])  # 253 characters
    raw = f"a@{domain[: MAX_EMAIL_LENGTH - 2]}".rstrip(".")
    assert re.fullmatch(EMAIL_PATTERN, raw)
    assert Email.parse(raw).value == raw
