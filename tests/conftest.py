"""Shared fixtures: the real files in ../shared/realdata (skipped where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REALDATA = REPO_ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The folder of real flight and camera files; skips the test where it is absent."""
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is absent (a user's checkout has none)")
    return REALDATA


def realdata_files(pattern: str) -> list[Path]:
    """Real files matching a glob under realdata (empty where realdata is absent), for parametrize."""
    return sorted(REALDATA.glob(pattern)) if REALDATA.is_dir() else []
