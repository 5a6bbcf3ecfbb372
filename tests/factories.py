"""Small builders of test data: the shipped samples of the contract suites, by the names
the project's own tests use."""

from __future__ import annotations

from klantroef_adapters.testing.samples import A_MOMENT, a_media, a_view, new_id

make_media = a_media
make_view = a_view

__all__ = ["A_MOMENT", "make_media", "make_view", "new_id"]
