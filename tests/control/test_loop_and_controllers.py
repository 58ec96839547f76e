"""The control loop on the real simulator: classical controller reaches goals, statuses, timing."""

import math

import numpy as np
import pytest

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.episodes import make_episode, make_sim, run_episode
from embodied_collab.control.loop import ControlLoop, GoalStatus, TimingStats, run_fixed_rate


@pytest.mark.parametrize("seed", [500_000, 500_001, 500_002])
def test_classical_reaches_goals_without_collisions(seed):
    ep = make_episode(seed)
    res = run_episode(ep, ControlConfig(controller="classical"))
    assert res.status == "succeeded", res
    assert res.collisions == 0
    assert res.time_s >= res.oracle_time_s * 0.99  # cannot beat the oracle


def test_unreachable_goal_fails_and_unknown_place_raises():
    ep = make_episode(500_003)
    sim = make_sim(ep)
    sent = []
    loop = ControlLoop(ControlConfig(controller="classical"), ep.map_world,
                       lambda v, w: sent.append((v, w)), clock=lambda: sim.time)
    loop.on_odom(sim.pose, sim.velocity, stamp=0.0)
    loop.on_scan(sim.scan(), sim.lidar.angles, sim.range_max, stamp=0.0)
    loop.set_goal((100.0, 100.0))  # outside the house
    assert loop.step(0.0).status is GoalStatus.FAILED
    assert sent[-1] == (0.0, 0.0)
    from embodied_collab.errors import InvalidActionError

    with pytest.raises(InvalidActionError):
        loop.set_goal("no_such_room")


def test_loop_without_sensors_sends_zero():
    ep = make_episode(500_004)
    sent = []
    loop = ControlLoop(ControlConfig(controller="classical"), ep.map_world,
                       lambda v, w: sent.append((v, w)), clock=lambda: 0.0)
    loop.set_goal(ep.goal)
    out = loop.step(0.0)
    assert (out.command.v, out.command.w) == (0.0, 0.0) and out.command.halted
    assert sent == [(0.0, 0.0)]


def test_timing_stats_and_fixed_rate_with_fake_clock():
    class FakeTime:
        """Fake clock whose sleep advances it (pure-logic test of the scheduler)."""

        t = 0.0

        def clock(self):
            return self.t

        def sleep(self, s):
            self.t += s

    ft = FakeTime()
    calls = []

    def step(now):
        calls.append(now)
        ft.t += 0.004  # compute time
        return len(calls) < 100

    stats = run_fixed_rate(step, 50.0, 10.0, clock=ft.clock, sleep=ft.sleep)
    s = stats.summary()
    assert len(calls) == 100
    assert s["loop_hz"] == pytest.approx(50.0, rel=1e-6)
    assert s["period_jitter_ms_p99"] == pytest.approx(0.0, abs=1e-6)
    ts = TimingStats(0.02)
    for t in [0.0, 0.02, 0.045, 0.06]:
        ts.record(t)
    assert ts.summary()["period_jitter_ms_p99"] == pytest.approx(5.0, abs=0.1)
    assert math.isclose(float(np.mean(ts.periods())), 0.02)
