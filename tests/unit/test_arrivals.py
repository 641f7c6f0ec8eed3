"""Arrival generation reproduces engine.md 2.8's small-scenario vector exactly."""
from enginekit import engine_for, of_type, run

SMALL = {
    "simulation": {"ticks_per_day": 10, "num_days": 1, "rng_seed": 42},
    "agents": [
        {"id": "BANK_A", "opening_balance": 10_000_000,
         "arrival_config": {"rate_per_tick": 1.5,
                            "amount_distribution": {"type": "Uniform", "min": 10000, "max": 50000},
                            "counterparty_weights": {"BANK_B": 0.7, "BANK_C": 0.3},
                            "deadline_range": [5, 15], "priority": 5}},
        {"id": "BANK_B", "opening_balance": 10_000_000,
         "arrival_config": {"rate_per_tick": 0.8,
                            "amount_distribution": {"type": "LogNormal", "mean": 50000,
                                                    "std_dev": 20000},
                            "counterparty_weights": {"BANK_A": 1, "BANK_C": 1},
                            "deadline_range": [10, 20],
                            "priority_distribution": {"type": "Categorical", "values": [3, 5, 8],
                                                      "weights": [0.2, 0.6, 0.2]}}},
        {"id": "BANK_C", "opening_balance": 10_000_000},
    ],
}

EXPECTED = [
    (0, "BANK_A", "BANK_C", 41149, 7, 5), (0, "BANK_A", "BANK_B", 23800, 8, 5),
    (0, "BANK_B", "BANK_A", 69353, 10, 5), (1, "BANK_A", "BANK_B", 27341, 10, 5),
    (1, "BANK_B", "BANK_A", 32708, 10, 5), (2, "BANK_A", "BANK_B", 26443, 8, 5),
    (2, "BANK_A", "BANK_B", 16685, 10, 5), (2, "BANK_B", "BANK_C", 30023, 10, 8),
]


def test_reference_arrival_stream():
    eng = engine_for(SMALL)
    events = run(eng, 3)
    got = [(e["tick"], e["sender_id"], e["receiver_id"], e["amount"], e["deadline"], e["priority"])
           for e in of_type(events, "Arrival")]
    assert got == EXPECTED
    assert eng.rng.state == 9013885275661378955


def test_tx_ids_are_sequential_in_creation_order():
    eng = engine_for(SMALL)
    events = run(eng, 3)
    ids = [e["tx_id"] for e in of_type(events, "Arrival")]
    assert ids == [f"tx_{i:08d}" for i in range(8)]


def test_deadline_capped_at_episode_end():
    cfg = {**SMALL, "simulation": {"ticks_per_day": 3, "num_days": 1, "rng_seed": 42}}
    events = run(engine_for(cfg))
    assert all(e["deadline"] <= 3 for e in of_type(events, "Arrival"))
