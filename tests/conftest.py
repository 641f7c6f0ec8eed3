import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))

# SimCash's example scenarios name their policies relative to its repository root (found by
# the json_path ancestor walk, outside the scenario's folder): the reference checkout is a
# policy folder these tests trust, as a user would with PAYSIM_POLICY_DIRS.
if (SHARED / "simcash").is_dir():
    os.environ.setdefault("PAYSIM_POLICY_DIRS", str(SHARED / "simcash"))

# every stored run of the suite checks, tick by tick, that the queue-spell tracker's states
# (read again only for the payments the engine lists as changed) equal every queued payment's
from paysim_lab.store import queue_spells  # noqa: E402

queue_spells.CHECK_STATES = True


@pytest.fixture
def shared_dir():
    """The reference material folder next to the repo; tests skip when it is absent."""
    if not (SHARED / "simcash").is_dir():
        pytest.skip(f"reference material not found at {SHARED} (only present in the dev workspace)")
    return SHARED
