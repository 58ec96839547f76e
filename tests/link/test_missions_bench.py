"""The mission benchmark end to end on the real executive, simulated robot, on-board planner,
fault proxy and the link stand-in HTTP server (the real LLM run is in
docs/benchmarks/missions.md), plus its mission clock and the merge into ``bench link``."""

from __future__ import annotations

import json

import pytest

from embodied_collab.executive.missions_bench import MissionClock, run_missions_bench
from embodied_collab.link.bench import merge_missions
from embodied_collab.link.standin import StandinServer
from embodied_collab.sim.generate import generate_task


def test_mission_clock_counts_actions_at_simulated_time():
    clock = MissionClock(time_scale=10.0)
    clock.start()
    clock.begin_action()
    clock.end_action(sim_s=5.0)  # a 5 s (simulated) action that took ~0 wall seconds
    t = clock.now()
    assert 5.0 <= t < 5.5
    clock.start()
    assert clock.now() < 0.5


def test_merge_fills_the_link_fields():
    link = {"lost_commands": 0, "mission_success_by_outage_s": None,
            "cloud_calls_per_mission": None, "note": "x", "details": {}}
    missions = {"mission_success_by_outage_s": {"0": 1.0, "120": 0.5},
                "cloud_calls_per_mission": 1.5, "lost_commands": 1, "full_outage_vs_online": 0.5}
    out = merge_missions(link, missions)
    assert out["mission_success_by_outage_s"] == {"0": 1.0, "120": 0.5}
    assert out["cloud_calls_per_mission"] == 1.5 and out["lost_commands"] == 1
    assert "note" not in out and out["missions"] == {"lost_commands": 1,
                                                     "full_outage_vs_online": 0.5}


@pytest.mark.server
def test_missions_online_use_the_cloud_and_a_full_outage_the_planner():
    task = generate_task(0, "fetch")  # apple_4 on cabinet_2
    assert task.success == {"holding": "apple_4"}
    with StandinServer(work_s=0.2) as srv:
        srv.content = json.dumps({"steps": [["navigate", "cabinet_2"], ["pick", "apple_4"]]})
        res = run_missions_bench(1, outages=(0.0, 120.0), difficulty="fetch",
                                 base_url=srv.base_url)
    online, offline = res["missions"]
    assert online["success"] and offline["success"]
    assert [d["served_by"] for d in online["decisions"]] == ["cloud"] * 3
    assert online["cloud_calls"] == 1  # one plan, then its next actions
    assert {d["served_by"] for d in offline["decisions"]} == {"local"}
    assert offline["outage_covered_mission"] and offline["mission_s"] <= 120.0
    assert res["mission_success_by_outage_s"] == {"0": 1.0, "120": 1.0}
    assert res["full_outage_vs_online"] == 1.0 and res["lost_commands"] == 0
    assert res["cloud_calls_per_mission"] == 1.0


def test_missions_bad_args():
    with pytest.raises(ValueError, match="n must be"):
        run_missions_bench(0)
    with pytest.raises(ValueError, match="outages"):
        run_missions_bench(1, outages=(-5.0,))
    with pytest.raises(ValueError, match="difficulty"):
        run_missions_bench(1, difficulty="impossible")
