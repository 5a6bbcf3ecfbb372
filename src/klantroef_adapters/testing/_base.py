"""What every contract class shares: the optional ``unreachable_adapter`` fixture."""

from __future__ import annotations

from typing import NoReturn

import pytest


class ContractBase:
    """Base of the ``<Port>Contract`` classes.

    A subclass provides the async fixture ``adapter`` (a fresh, empty instance of
    the implementation under test) and the extra fixtures its contract names.
    Where the store can be unreachable, it should also provide
    ``unreachable_adapter``: an instance whose store cannot be reached (a closed
    port, an unusable folder), to check that every method then raises
    :class:`~klantroef_core.errors.Unavailable`. Without it that one check skips.

    The contract classes are not collected themselves (their names do not start
    with ``Test``); a subclass named ``Test...`` is, with every inherited test.
    """

    @pytest.fixture
    def unreachable_adapter(self) -> NoReturn:
        pytest.skip("no unreachable_adapter: this store lives in the process and cannot go away")
