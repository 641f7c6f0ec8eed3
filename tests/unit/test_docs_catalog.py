"""docs/events.md lists every event type and field the engine emits."""
from pathlib import Path

from paysim_lab.engine.events import FIELDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_every_event_type_and_field_is_documented():
    text = DOC.read_text()
    for et, fields in FIELDS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{et}`"))
        for f in fields:
            assert f"`{f}`" in row, (et, f)
