#!/usr/bin/env bash
# A user's install, as the README's first command does it but non-editable: a fresh venv,
# `pip install .` with the core dependencies only, then everything run from another folder,
# so nothing can be found by accident in the checkout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python -m venv "$work/venv"
py="$work/venv/bin/python"
{ "$py" -m pip install --quiet --upgrade pip && "$py" -m pip install --quiet "$repo"; } \
    > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; echo "install check: pip failed" >&2; exit 1; }
cd "$work"
crisis=$("$py" -c 'import paysim_lab as psl; print(psl.data.scenario_path("advanced_policy_crisis"))')
case "$crisis" in "$repo"*) echo "install check: bundled data came from the checkout" >&2; exit 1;; esac
"$work/venv/bin/paysim" run "$crisis" --quiet --summary-out summary.json
"$py" -m paysim_lab validate "$crisis" >/dev/null
"$py" - <<'PY'
import json
import paysim_lab as psl

summary = json.load(open("summary.json"))
assert summary["ticks_run"] == 300, summary["ticks_run"]
assert "advanced_policy_crisis" in psl.data.list_scenarios()
assert "fifo" in psl.data.list_policies()
sim = psl.Simulation({"simulation": {"ticks_per_day": 4, "num_days": 1, "rng_seed": 1},
                      "agents": [{"id": "A", "opening_balance": 100, "policy": {"type": "Fifo"}},
                                 {"id": "B", "opening_balance": 0,
                                  "policy": {"type": "Fifo"}}]})
sim.run()
print(f"install check: ok (crisis: {summary['settlements']} settlements, "
      f"{len(psl.data.list_scenarios())} bundled scenarios)")
PY

# An editable install of a clone folder named like the package: Python started in the folder
# holding the clone must import the package, not the clone folder as an empty namespace.
git clone --quiet "$repo" "$work/clones/paysim_lab"
"$py" -m pip install --quiet --no-deps -e "$work/clones/paysim_lab" > "$work/pip-e.log" 2>&1 \
    || { cat "$work/pip-e.log"; echo "install check: editable install failed" >&2; exit 1; }
cd "$work/clones"
"$py" -c 'import paysim_lab as psl; assert psl.__file__, "namespace package"; psl.Simulation; print("install check: editable clone ok")'
