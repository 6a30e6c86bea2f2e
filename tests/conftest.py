"""Shared fixtures for the test suite."""

from __future__ import annotations

import pytest

from sim.theatre import Theatre, load_theatre


@pytest.fixture(scope="session")
def theatre() -> Theatre:
    """The theatre built from the project's own ``seeds/`` (loaded once per session)."""
    return load_theatre()
