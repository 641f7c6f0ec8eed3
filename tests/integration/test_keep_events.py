"""keep_events=False: only the current day's events stay in memory; the store has them all."""
import paysim_lab as psl


def test_streaming_run_keeps_one_day_in_memory_and_everything_in_the_store(tmp_path):
    full = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    full.run()
    store = psl.Store(str(tmp_path / "runs.duckdb"))
    sim = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"), store=store,
                         keep_events=False)
    sim.step(150)                                    # mid day 2
    in_memory = sim.events
    assert set(in_memory.day) == {1}
    assert in_memory.seq.iloc[0] == full.events[full.events.day == 1].seq.iloc[0]
    sim.run()
    assert len(sim.events) == 0                      # the last day ended: memory released
    stored = store.events(sim.run_id)
    assert len(stored) == len(full.events)
    assert list(stored.event_type) == list(full.events.event_type)
    assert list(stored.seq) == list(range(len(stored)))
    # state frames are unaffected
    assert sim.summary()["total_cost"] == full.summary()["total_cost"]
    store.close()


def test_events_emitted_counts_released_events():
    sim = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"), keep_events=False)
    sim.run()
    full = psl.Simulation(psl.data.scenario_path("advanced_policy_crisis"))
    full.run()
    assert sim.events_emitted == len(full.events) and len(sim.events) == 0
