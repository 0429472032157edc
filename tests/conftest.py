"""Shared fixtures. Tests that need the shared data take `data_dir` and skip where it is absent."""

from pathlib import Path

import pytest
from motion_tokens.core import paths

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


def shared_data_dir() -> Path | None:
    """The shared data folder (MOTION_TOKENS_DATA, default ../shared/data), or None if absent."""
    path = paths.data_dir()
    return path if (path / "beat2").is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared data not found: set MOTION_TOKENS_DATA to the data folder")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES
