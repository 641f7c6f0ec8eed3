import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def shared_dir():
    """The reference material folder next to the repo; tests skip when it is absent."""
    if not (SHARED / "simcash").is_dir():
        pytest.skip(f"reference material not found at {SHARED} (only present in the dev workspace)")
    return SHARED
