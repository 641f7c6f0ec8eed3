"""SimCash's paper experiments: files read, games solved, bootstrap means to the cent."""
from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

import paysim_lab as psl
from paysim_lab.cli import main
from paysim_lab.experiments import bootstrap as B
from paysim_lab.experiments.simcash_files import load


@pytest.fixture()
def paper(shared_dir):
    return shared_dir / "simcash" / "paper"


def test_exp1_cli_json_reports_castros_equilibrium(paper):
    res = CliRunner().invoke(main, ["experiment", str(paper / "exp1.yaml"), "--json"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["equilibrium"] == {"BANK_A": 0.0, "BANK_B": 0.2}
    assert out["costs"] == {"BANK_A": 0, "BANK_B": 2000}          # $0 and $20
    assert out["converged"] is True
    assert out["all_equilibria"] == [{"BANK_A": 0.0, "BANK_B": 0.2}]
    assert out["intervals"]["BANK_B"]["cost"] == [2000, 2000]


def test_exp3_two_dimensions_per_bank(paper):
    exp = load(paper / "exp3.yaml")
    assert exp.dimensions() == ["initial_liquidity_fraction", "release_tick"]
    r = exp.solve(step=0.1, enumerate_all=False)
    eq = r.to_json()["equilibrium"]
    # P^A = P^B = [0.2, 0.2, 0]: each brings 0.2 and releases at once; costs
    # 0.2 * 100,000 * 333 bps * 3 ticks = 1998 cents each
    assert eq == {a: {"initial_liquidity_fraction": 0.2, "release_tick": 0}
                  for a in ("BANK_A", "BANK_B")}
    assert r.costs == {"BANK_A": 1998, "BANK_B": 1998}


def test_experiment_file_errors_name_file_key_and_problem(tmp_path, paper):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"scenario: {paper / 'exp1_2period.yaml'}\noptimized_agents: [BANK_Z]\n")
    with pytest.raises(psl.ScenarioError) as exc:
        load(bad)
    assert str(exc.value) == (f"{bad}: optimized_agents[0]: no agent 'BANK_Z' in the scenario; "
                              "agents: BANK_A, BANK_B")
    res = CliRunner().invoke(main, ["experiment", str(bad)])
    assert res.exit_code == 1 and "optimized_agents[0]" in res.output


def test_xorshift_and_seed_derivation_by_hand():
    # xorshift64* from state 1: 1 ^ (1 << 25) = 33554433, ^ (>> 27) keeps it, times the
    # multiplier modulo 2**64
    assert B.Xorshift64Star(1).next_u64() == (33554433 * 0x2545F4914F6CDD1D) % 2 ** 64
    import hashlib
    digest = hashlib.sha256(b"42:iter:5:agent:BANK_A").digest()
    assert B.iteration_seed(42, 5, "BANK_A") == int.from_bytes(digest[:4], "big") % 2 ** 31


@pytest.mark.parametrize("iteration, profile, published, backend", [
    # The paper's exp2 table (pass 2): iteration, liquidity fractions, mean bootstrap cost in
    # USD of BANK_A and BANK_B. Iteration 5 has delay costs for BANK_A, iteration 6 deadline
    # and end-of-day penalties for BANK_B.
    (5, {"BANK_A": 0.15, "BANK_B": 0.13}, ("149.84", "129.48"), "serial"),
    (6, {"BANK_A": 0.15, "BANK_B": 0.12}, ("149.40", "548.36"), "process"),
])
def test_bootstrap_mode_reproduces_the_published_exp2_means(paper, iteration, profile,
                                                            published, backend):
    ev = psl.evaluate(paper / "exp2_12period.yaml", profile, mode="bootstrap",
                      bootstrap={"iterations": [iteration], "num_samples": 50},
                      backend=backend)
    means = ev.summary.set_index("agent")["mean"]
    # the table prints the mean in whole cents, truncated
    got = tuple(f"{math.floor(means[a]) / 100:.2f}" for a in ("BANK_A", "BANK_B"))
    assert got == published
    assert len(ev.runs) == 2 * 50


def test_exp1_text_report(paper):
    res = CliRunner().invoke(main, ["experiment", str(paper / "exp1.yaml"), "--no-all"],
                             catch_exceptions=False)
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[1] == "best response converged after 2 round(s)"
    assert lines[2:4] == ["  BANK_A: 0.0  cost $0.00 (exact: one deterministic run)",
                          "  BANK_B: 0.2  cost $20.00 (exact: one deterministic run)"]
    assert len(lines) == 4                       # --no-all: no equilibrium list, no planner


def test_an_experiment_given_as_a_dict_with_monte_carlo_evaluation():
    exp = load({"name": "castro", "scenario": str(psl.data.scenario_path("liquidity_game_2period")),
                "evaluation": {"mode": "monte-carlo", "num_samples": 3},
                "optimized_agents": ["BANK_A", "BANK_B"],
                "policy_constraints": {"allowed_parameters": [
                    {"name": "initial_liquidity_fraction", "min_value": 0.0,
                     "max_value": 0.3}]}})
    assert exp.source == "<dict>" and exp.grid(0.1) == {
        "initial_liquidity_fraction": [0.0, 0.1, 0.2, 0.3]}
    r = exp.solve(step=0.05, n_resamples=20)
    out = r.to_json()
    assert out["equilibrium"] == {"BANK_A": 0.0, "BANK_B": 0.2}
    assert out["evaluation"] == {"mode": "monte-carlo", "samples": 3, "confidence": 0.95}
    # every seed costs the same in this game: zero-width intervals, every resample agrees
    assert out["intervals"]["BANK_B"]["cost"] == [2000, 2000]
    assert out["intervals"]["BANK_B"]["strategy"]["value"] == {"interval": [0.2, 0.2],
                                                              "share_same": 1.0}
    assert "all_equilibria" not in out


@pytest.mark.parametrize("scenario, rows", [
    # (A fraction, B fraction, published cost of A, of B in cents) from the paper's exp1 and
    # exp3 iteration tables (pass 1)
    ("exp1_2period.yaml", [(0.2, 0.3, 2000, 3000), (0.05, 0.18, 500, 2800),
                           (0.001, 0.17, 10, 2700)]),
    ("exp3_joint.yaml", [(0.5, 0.5, 4995, 4995), (0.01, 0.3, 12099, 6997),
                         (0.009, 0.29, 12090, 6898)]),
])
def test_deterministic_paper_costs_to_the_cent(paper, scenario, rows):
    ev = psl.evaluate(paper / scenario, [{"BANK_A": a, "BANK_B": b} for a, b, _, _ in rows],
                      backend="serial")
    got = [(ev.costs(i, "BANK_A")[0], ev.costs(i, "BANK_B")[0]) for i in range(len(rows))]
    assert got == [(ca, cb) for _, _, ca, cb in rows]
