"""Payments tables (issue 13): files and DataFrames in, the same run as scenario events out."""
import numpy as np
import pandas as pd
import pytest
import yaml

import paysim_lab as psl
from paysim_lab.errors import ScenarioError

BANKS = pd.DataFrame({"id": ["A", "B", "C"], "opening_balance": [40_000, 10_000, 0],
                      "unsecured_cap": [0, 5_000, 2_000]})


def random_payments(n=200, ticks=30, seed=4, optional=True):
    rng = np.random.default_rng(seed)
    ids = np.array(["A", "B", "C"])
    s = rng.integers(0, 3, n)
    r = (s + rng.integers(1, 3, n)) % 3
    arrival = rng.integers(0, ticks, n)
    frame = pd.DataFrame({"sender": ids[s], "receiver": ids[r],
                          "amount": rng.integers(1, 9_000, n), "arrival_tick": arrival})
    if optional:
        # every optional column, each with some cells left empty (the defaults apply)
        deadline = (arrival + rng.integers(1, 40, n)).astype(float)
        deadline[rng.random(n) < 0.3] = np.nan
        priority = rng.integers(0, 11, n).astype(float)
        priority[rng.random(n) < 0.3] = np.nan
        frame["deadline_tick"] = deadline
        frame["priority"] = priority
        frame["divisible"] = rng.random(n) < 0.2
    return frame


def as_scenario_events(frame):
    """The same payments written as CustomTransactionArrival events (stable by tick)."""
    events = []
    for row in frame.sort_values("arrival_tick", kind="stable").itertuples():
        ev = {"type": "CustomTransactionArrival", "from_agent": row.sender,
              "to_agent": row.receiver, "amount": int(row.amount),
              "schedule": {"type": "OneTime", "tick": int(row.arrival_tick)}}
        if "deadline_tick" in frame and not pd.isna(row.deadline_tick):
            ev["deadline"] = int(row.deadline_tick) - int(row.arrival_tick)
        if "priority" in frame and not pd.isna(row.priority):
            ev["priority"] = int(row.priority)
        if "divisible" in frame:
            ev["is_divisible"] = bool(row.divisible)
        events.append(ev)
    return events


def base_doc(**extra):
    doc = {"simulation": {"ticks_per_day": 15, "num_days": 2, "rng_seed": 9},
           "agents": [dict(r) for r in BANKS.to_dict("records")]}
    for a in doc["agents"]:
        a["opening_balance"] = int(a["opening_balance"])
        a["unsecured_cap"] = int(a["unsecured_cap"])
    doc.update(extra)
    return doc


def event_records(sim):
    sim.run()
    return [tuple(rec) for _, rec in sim.event_records(0)]


def without_custom_arrival_records(records):
    return [r for r in records
            if not (r[0] == "ScenarioEventExecuted" and r[2] == "custom_transaction_arrival")]


@pytest.mark.parametrize("cap_at_eod", [False, True])
@pytest.mark.parametrize("optional", [True, False])
def test_a_payments_table_gives_the_events_of_the_same_scenario_events(cap_at_eod, optional):
    frame = random_payments(optional=optional)
    # stochastic arrivals too, so generated ids and draws interleave with the table's payments
    arrivals = {"rate_per_tick": 0.4, "amount_distribution": {"type": "Uniform", "min": 100,
                                                              "max": 900},
                "counterparty_weights": {"B": 1.0, "C": 1.0}, "deadline_range": [3, 9]}
    shock = {"type": "DirectTransfer", "from_agent": "C", "to_agent": "B", "amount": 77,
             "schedule": {"type": "Repeating", "start_tick": 0, "interval": 4}}
    doc = base_doc(deadline_cap_at_eod=cap_at_eod, scenario_events=[shock])
    doc["agents"][0]["arrival_config"] = arrivals
    table_sc = psl.Scenario.from_payments(
        frame, BANKS, ticks_per_day=15, num_days=2, rng_seed=9, deadline_cap_at_eod=cap_at_eod,
        scenario_events=[shock])
    table_sc = psl.load_scenario({**table_sc.model_dump(), "agents": doc["agents"]})
    table_sc._payment_feed = psl.Scenario.from_payments(
        frame, BANKS, ticks_per_day=15, num_days=2)._payment_feed
    events_doc = dict(doc, scenario_events=[shock] + as_scenario_events(frame))
    expected = event_records(psl.Simulation(events_doc))
    got = event_records(psl.Simulation(table_sc))
    custom = [r for r in expected if r[0] == "ScenarioEventExecuted"
              and r[2] == "custom_transaction_arrival"]
    assert len(custom) == len(frame)     # the only difference: the scenario-event log lines
    assert got == without_custom_arrival_records(expected)
    assert sum(r[0] == "Arrival" for r in got) > len(frame)


def test_payment_ids_from_the_table_become_tx_ids():
    frame = pd.DataFrame({"sender": ["A", "B", "A"], "receiver": ["B", "A", "C"],
                          "amount": [100, 200, 300], "arrival_tick": [2, 0, 2],
                          "payment_id": ["P-1", None, "P-3"]})
    sim = psl.Simulation(psl.Scenario.from_payments(frame, BANKS, ticks_per_day=5))
    arrivals = sim.run().query("event_type == 'Arrival'")
    # sorted by arrival tick, table order kept within a tick; no id -> a generated one
    assert arrivals.tx_id.tolist() == ["tx_00000000", "P-1", "P-3"]
    assert arrivals.amount.tolist() == [200, 100, 300]


def test_a_scenario_file_names_a_parquet_or_csv_table_relative_to_itself(tmp_path):
    frame = random_payments(n=40, ticks=30, optional=False)
    (tmp_path / "tables").mkdir()
    frame.to_parquet(tmp_path / "tables" / "day.parquet")
    frame.to_csv(tmp_path / "tables" / "day.csv", index=False)
    runs = []
    for name in ("day.parquet", "day.csv"):
        doc = base_doc(payments=f"tables/{name}")
        path = tmp_path / f"s_{name}.yaml"
        path.write_text(yaml.safe_dump(doc))
        sc = psl.load_scenario(path)
        assert sc.payment_count == 40
        runs.append(event_records(psl.Simulation(sc)))
    assert runs[0] == runs[1]
    assert sum(r[0] == "Arrival" for r in runs[0]) == 40


def test_clock_times_become_ticks(tmp_path):
    frame = pd.DataFrame({"sender": ["A", "B", "A"], "receiver": ["B", "A", "B"],
                          "amount": [1, 2, 3], "arrival_time": ["08:00", "09:59:59", "17:30"],
                          "day": [0, 1, 1]})
    sc = psl.Scenario.from_payments(frame, BANKS, ticks_per_day=10, num_days=2,
                                    clock={"opening": "08:00", "closing": "18:00"})
    assert list(sc._payment_feed.arrival) == [0, 11, 19]
    stamps = frame.assign(arrival_time=pd.to_datetime(
        ["2024-03-04 08:00:00", "2024-03-05 09:59:59", "2024-03-05 17:30:00"])).drop(columns="day")
    sc = psl.Scenario.from_payments(stamps, BANKS, ticks_per_day=10, num_days=2,
                                    clock={"opening": "08:00", "closing": "18:00",
                                           "tick_minutes": 60})
    assert list(sc._payment_feed.arrival) == [0, 11, 19]


def test_a_clock_whose_tick_length_disagrees_is_refused():
    frame = pd.DataFrame({"sender": ["A"], "receiver": ["B"], "amount": [1],
                          "arrival_time": ["08:00"]})
    with pytest.raises(ScenarioError) as err:
        psl.Scenario.from_payments(frame, BANKS, ticks_per_day=10,
                                   clock={"opening": "08:00", "closing": "18:00",
                                          "tick_minutes": 30})
    assert str(err.value) == ("<payments DataFrame>: clock.tick_minutes is 30, but 08:00-18:00 "
                              "in 10 ticks (ticks_per_day) makes ticks of 60 minutes")


def test_an_unquoted_yaml_clock_time_is_explained(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("simulation: {ticks_per_day: 10, num_days: 1, rng_seed: 1}\n"
                    "agents: [{id: A, opening_balance: 0}, {id: B, opening_balance: 0}]\n"
                    "payments: {path: p.csv, clock: {opening: '08:00', closing: 18:00}}\n")
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    assert "payments.clock.closing" in str(err.value)
    assert "reads 18:00 as the number 1080" in str(err.value)


BAD_TABLES = {
    "missing column": (
        "sender,amount,arrival_tick\nA,5,0\n",
        "missing column receiver (the columns are: sender, amount, arrival_tick; required: "
        "sender, receiver, amount, and arrival_tick or arrival_time)"),
    "unknown bank": (
        "sender,receiver,amount,arrival_tick\nA,B,5,0\nA,ZED,5,0\nB,ZED,1,1\n",
        "row 2, column receiver (line 3): unknown bank 'ZED'; banks are: A, B, C "
        "(2 rows like this: 2, 3)"),
    "negative amount": (
        "sender,receiver,amount,arrival_tick\nA,B,5,0\nA,B,-5,0\n",
        "row 2, column amount (line 3): must be a positive number of cents, got -5"),
    "arrival past the end": (
        "sender,receiver,amount,arrival_tick\nA,B,5,0\nA,B,5,30\n",
        "row 2, column arrival_tick (line 3): arrives at tick 30, outside the run (ticks "
        "0..29: 2 day(s) of 15 ticks)"),
    "wrong type": (
        "sender,receiver,amount,arrival_tick\nA,B,5,0\nA,B,five,0\n",
        "row 2, column amount (line 3): must be an integer, got 'five'"),
    "fractional cents": (
        "sender,receiver,amount,arrival_tick\nA,B,5.5,0\n",
        "row 1, column amount (line 2): must be a whole number, got 5.5"),
    "missing value": (
        "sender,receiver,amount,arrival_tick\nA,B,5,\nA,B,5,1\n",
        "row 1, column arrival_tick (line 2): missing value"),
    "deadline before arrival": (
        "sender,receiver,amount,arrival_tick,deadline_tick\nA,B,5,4,4\n",
        "row 1, column deadline_tick (line 2): deadline tick 4 is not after the arrival "
        "tick 4"),
    "priority range": (
        "sender,receiver,amount,arrival_tick,priority\nA,B,5,4,11\n",
        "row 1, column priority (line 2): must be 0..10, got 11"),
    "self payment": (
        "sender,receiver,amount,arrival_tick\nB,B,5,4\n",
        "row 1, column receiver (line 2): bank 'B' pays itself"),
    "duplicate id": (
        "sender,receiver,amount,arrival_tick,payment_id\nA,B,5,4,x1\nA,B,5,4,x2\nA,B,5,4,x1\n",
        "row 3, column payment_id (line 4): duplicate payment_id 'x1' (first used at row 1)"),
    "reserved id": (
        "sender,receiver,amount,arrival_tick,payment_id\nA,B,5,4,tx_00000001\n",
        "row 1, column payment_id (line 2): 'tx_00000001' has the form of the ids paysim_lab "
        "gives generated payments (tx_ and 8 or more digits); rename it"),
    "bad boolean": (
        "sender,receiver,amount,arrival_tick,divisible\nA,B,5,4,maybe\n",
        "row 1, column divisible (line 2): must be true or false, got 'maybe'"),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_a_malformed_table_is_one_error_naming_file_row_and_column(tmp_path, case):
    text, problem = BAD_TABLES[case]
    (tmp_path / "pay.csv").write_text(text)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_doc(payments="pay.csv")))
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    assert str(err.value) == f"{path}: payments: {tmp_path / 'pay.csv'}: {problem}"


def test_every_problem_of_a_table_is_listed_in_one_error():
    frame = pd.DataFrame({"sender": ["A", "Q"], "receiver": ["B", "A"], "amount": [-1, 5],
                          "arrival_tick": [0, 99]})
    with pytest.raises(ScenarioError) as err:
        psl.Scenario.from_payments(frame, BANKS, ticks_per_day=10)
    assert str(err.value) == (
        "<payments DataFrame>: 3 problems:\n"
        "  row 2, column sender: unknown bank 'Q'; banks are: A, B, C\n"
        "  row 1, column amount: must be a positive number of cents, got -1\n"
        "  row 2, column arrival_tick: arrives at tick 99, outside the run (ticks 0..9: "
        "1 day(s) of 10 ticks)")
    assert [e["path"] for e in err.value.errors] == [
        "row 2, column sender", "row 1, column amount", "row 2, column arrival_tick"]


def test_a_dataframe_with_its_own_index_names_the_index_label():
    frame = pd.DataFrame({"sender": ["A", "A"], "receiver": ["B", "B"], "amount": [1, True],
                          "arrival_tick": [0, 1]}, index=[100, 200])
    with pytest.raises(ScenarioError) as err:
        psl.Scenario.from_payments(frame, BANKS, ticks_per_day=10)
    assert str(err.value) == ("<payments DataFrame>: row 2 (index 200), column amount: must be "
                              "an integer, got True")


def test_a_missing_payments_file_names_it(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(base_doc(payments="nowhere.parquet")))
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    assert str(err.value) == f"{path}: payments: {tmp_path / 'nowhere.parquet'}: file not found"


def test_bank_columns_become_agent_keys_and_empty_cells_are_not_given():
    banks = pd.DataFrame({"id": ["A", "B"], "opening_balance": [10, 20],
                          "unsecured_cap": [5, np.nan],
                          "policy": [{"type": "Deadline", "urgency_threshold": 3}, None]})
    frame = pd.DataFrame({"sender": ["A"], "receiver": ["B"], "amount": [1],
                          "arrival_tick": [0]})
    sc = psl.Scenario.from_payments(frame, banks, ticks_per_day=4, num_days=2, rng_seed=5,
                                    lsm_config={"enable_cycles": False})
    assert [(a.id, a.opening_balance, a.unsecured_cap) for a in sc.agents] == [
        ("A", 10, 5), ("B", 20, 0)]
    assert sc.agents[0].policy.type == "Deadline" and sc.agents[1].policy is None
    assert sc.lsm_config.enable_cycles is False and sc.simulation.rng_seed == 5


def test_the_bundled_example_runs():
    sc = psl.load_scenario(psl.data.scenario_path("payments_table_day"))
    assert sc.payment_count > 0
    events = psl.Simulation(sc).run()
    assert (events.event_type == "Arrival").sum() == sc.payment_count


def test_a_stored_run_with_a_payments_file_verifies(tmp_path):
    # the stored configuration names the table by its absolute path, so a replay from any
    # folder reads the same payments
    sc = psl.load_scenario(psl.data.scenario_path("payments_table_day"))
    store = psl.Store()
    sim = psl.Simulation(sc, store=store)
    sim.run(ticks=20)
    result = store.verify(sim.run_id)
    assert result.ok and result.events > 0, result.mismatch


def test_integer_payment_ids_are_kept_as_text():
    frame = pd.DataFrame({"sender": ["A", "B"], "receiver": ["B", "A"], "amount": [1, 2],
                          "arrival_tick": [0, 0], "payment_id": [1007, 42]})
    sc = psl.Scenario.from_payments(frame, BANKS, ticks_per_day=5)
    assert list(sc._payment_feed.payment_id) == ["1007", "42"]


def test_unreadable_and_out_of_hours_clock_times_are_reported():
    frame = pd.DataFrame({"sender": ["A", "A", "A"], "receiver": ["B", "B", "B"],
                          "amount": [1, 2, 3], "arrival_time": ["08:00", "noon", "07:59"]})
    clock = {"opening": "08:00", "closing": "18:00"}
    with pytest.raises(ScenarioError) as err:
        psl.Scenario.from_payments(frame, BANKS, ticks_per_day=10, clock=clock)
    assert str(err.value) == ("<payments DataFrame>: row 2, column arrival_time: must be a "
                              "time of day HH:MM[:SS] or a timestamp, got 'noon'")
    with pytest.raises(ScenarioError) as err:
        psl.Scenario.from_payments(frame.drop(index=1).reset_index(drop=True), BANKS,
                                   ticks_per_day=10, clock=clock)
    assert str(err.value) == ("<payments DataFrame>: row 2, column arrival_time: 07:59 is "
                              "outside the business day 08:00-18:00, 10 ticks of 60 minutes")


def test_a_day_column_with_arrival_ticks_is_refused():
    frame = pd.DataFrame({"sender": ["A"], "receiver": ["B"], "amount": [1],
                          "arrival_tick": [3], "day": [1]})
    with pytest.raises(ScenarioError) as err:
        psl.Scenario.from_payments(frame, BANKS, ticks_per_day=5, num_days=2)
    assert str(err.value).startswith("<payments DataFrame>: the column day only applies to "
                                     "arrival_time")


def test_an_untrusted_scenario_reads_tables_only_inside_the_allowed_folders(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    (outside / "pay.csv").write_text("sender,receiver,amount,arrival_tick\nA,B,5,0\n")
    (inside / "pay.csv").write_text("sender,receiver,amount,arrival_tick\nA,B,5,0\n")
    for target, ok in (("../outside/pay.csv", False), ("pay.csv", True)):
        path = inside / "s.yaml"
        path.write_text(yaml.safe_dump(base_doc(payments=target)))
        if ok:
            assert psl.load_scenario(path, allowed_policy_dirs=[inside]).payment_count == 1
            continue
        with pytest.raises(ScenarioError) as err:
            psl.load_scenario(path, allowed_policy_dirs=[inside])
        assert str(err.value).startswith(
            f"{path}: payments: {inside / target}: is outside the allowed folders (")


def test_a_table_outside_the_scenario_folder_is_refused_by_default(tmp_path, monkeypatch):
    # the same safe default as policy files: the scenario's folder tree, the bundled data,
    # PAYSIM_POLICY_DIRS and the folders the caller names
    monkeypatch.delenv("PAYSIM_POLICY_DIRS", raising=False)
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    table = outside / "pay.csv"
    table.write_text("sender,receiver,amount,arrival_tick\nA,B,5,0\n")
    path = inside / "s.yaml"
    path.write_text(yaml.safe_dump(base_doc(payments=str(table))))
    with pytest.raises(ScenarioError) as err:
        psl.load_scenario(path)
    text = str(err.value)
    assert text.startswith(f"{path}: payments: {table}: is outside the allowed folders (")
    assert "--allow-policy-dir" in text and "allowed_policy_dirs" in text
    assert psl.load_scenario(path, allowed_policy_dirs=[outside]).payment_count == 1
    monkeypatch.setenv("PAYSIM_POLICY_DIRS", str(outside))
    assert psl.load_scenario(path).payment_count == 1


def test_a_table_named_in_from_payments_is_trusted_and_its_stored_run_verifies(tmp_path):
    # the caller names the file in code; a stored run reads it again from any folder
    table = tmp_path / "pay.csv"
    table.write_text("sender,receiver,amount,arrival_tick\nA,B,5,0\n")
    sc = psl.Scenario.from_payments(str(table), BANKS, ticks_per_day=5)
    assert sc.payment_count == 1
    store = psl.Store()
    sim = psl.Simulation(sc, store=store)
    sim.run()
    result = store.verify(sim.run_id)
    assert result.ok and result.events > 0, result.mismatch
