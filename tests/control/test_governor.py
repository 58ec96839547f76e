"""The safety governor: limits, obstacle stop, watchdog, refusal of NaN/inf (pure logic)."""

import math

import numpy as np
import pytest

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.governor import SafetyGovernor

ANGLES = np.linspace(-math.pi, math.pi, 64, endpoint=False)


class FakeClock:
    """A settable clock (fake, for pure-logic tests)."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class RecordingSink:
    """Collects what the governor sends (fake base)."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, float]] = []

    def __call__(self, v: float, w: float) -> None:
        self.sent.append((v, w))


def open_scan(r: float = 6.0) -> np.ndarray:
    return np.full(ANGLES.shape, r)


def make(cfg: ControlConfig | None = None):
    cfg = cfg or ControlConfig()
    clock, sink = FakeClock(), RecordingSink()
    return SafetyGovernor(cfg, sink, clock), clock, sink


def feed(gov, clock, v, w, ranges=None, dt=None):
    clock.t += gov.config.period if dt is None else dt
    gov.observe_scan(open_scan() if ranges is None else ranges, ANGLES, range_max=6.0)
    gov.observe_odom(0.0, 0.0)
    gov.propose(v, w)
    return gov.tick()


def test_no_inputs_means_stop():
    gov, clock, sink = make()
    out = gov.tick()
    assert (out.v, out.w) == (0.0, 0.0)
    assert {"no_command", "no_scan", "no_odom"} <= set(out.reasons)
    assert sink.sent == [(0.0, 0.0)]


def test_velocity_and_acceleration_limits():
    cfg = ControlConfig()
    gov, clock, sink = make(cfg)
    outs = [feed(gov, clock, 5.0, -9.0) for _ in range(200)]
    vs = np.array([o.v for o in outs])
    ws = np.array([o.w for o in outs])
    assert vs.max() == pytest.approx(cfg.v_max)
    assert ws.min() == pytest.approx(-cfg.w_max)
    assert np.diff(np.r_[0.0, vs]).max() <= cfg.a_max * cfg.period + 1e-9
    assert np.abs(np.diff(np.r_[0.0, ws])).max() <= cfg.alpha_max * cfg.period + 1e-9
    assert "velocity_limit" in outs[-1].reasons
    assert len(sink.sent) == 200


def test_reverse_limit():
    cfg = ControlConfig()
    gov, clock, _ = make(cfg)
    for _ in range(100):
        out = feed(gov, clock, -3.0, 0.0)
    assert out.v == pytest.approx(-cfg.v_reverse_max)


def test_obstacle_ahead_stops_forward_but_allows_turning_and_backing():
    cfg = ControlConfig()
    gov, clock, _ = make(cfg)
    ranges = open_scan()
    ranges[np.abs(ANGLES) < 0.2] = cfg.creep_stop_radius - 0.01
    for _ in range(50):
        out = feed(gov, clock, 0.5, 0.0, ranges)
        assert out.v <= 0.0
    assert "obstacle_front" in out.reasons
    for _ in range(50):
        out = feed(gov, clock, 0.0, 1.0, ranges)
    assert out.w == pytest.approx(1.0)
    for _ in range(50):
        out = feed(gov, clock, -0.15, 0.0, ranges)
    assert out.v == pytest.approx(-0.15)


def test_obstacle_behind_blocks_backing_only():
    cfg = ControlConfig()
    gov, clock, _ = make(cfg)
    ranges = open_scan()
    ranges[np.abs(ANGLES) > math.pi - 0.2] = cfg.creep_stop_radius - 0.01
    for _ in range(30):
        out = feed(gov, clock, -0.2, 0.0, ranges)
        assert out.v == 0.0
    assert "obstacle_rear" in out.reasons
    for _ in range(30):
        out = feed(gov, clock, 0.4, 0.0, ranges)
    assert out.v == pytest.approx(0.4)


def test_inside_the_stop_radius_only_creep_speed_then_stop_at_the_creep_radius():
    """Between the creep stop radius and stop_radius the robot may still creep (braking from
    creep speed takes millimetres); inside the creep stop radius it stops."""
    cfg = ControlConfig()
    gov, clock, _ = make(cfg)
    ranges = open_scan()
    ahead = np.abs(ANGLES) < 0.2
    ranges[ahead] = 0.5 * (cfg.creep_stop_radius + cfg.stop_radius) + 0.02
    outs = [feed(gov, clock, 0.5, 0.0, ranges) for _ in range(50)]
    assert max(o.v for o in outs) == pytest.approx(cfg.creep_speed)
    assert "creep" in outs[-1].reasons
    ranges[ahead] = cfg.creep_stop_radius - 0.005
    out = feed(gov, clock, 0.5, 0.0, ranges)
    assert out.v == 0.0 and "obstacle_front" in out.reasons


def gap_scan(x: float, half_width: float, start: float = 0.0, end: float = 0.6) -> np.ndarray:
    """Exact ranges of the 64 beams to two walls at y = +-``half_width`` from ``start`` to
    ``end`` along x, seen by a robot at (x, 0) heading +x (a fake lidar)."""
    s, c = np.sin(ANGLES), np.cos(ANGLES)
    out = np.full(ANGLES.shape, 6.0)
    for wall_y in (half_width, -half_width):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(s * wall_y > 0, wall_y / s, np.inf)
        x_hit = x + t * c
        ok = np.isfinite(t) & (x_hit >= start) & (x_hit <= end)
        out = np.where(ok, np.minimum(out, t), out)
    return out


@pytest.mark.parametrize("slack", [0.005, 0.025])
def test_creeps_through_a_passage_narrower_than_the_margin(slack):
    """A passage the footprint fits with less than safety_margin (but creep_margin + slack) on
    each side: the governor lets the robot through, at creep speed inside it."""
    cfg = ControlConfig()
    half = cfg.robot_radius + cfg.creep_margin + slack
    assert half < cfg.robot_radius + cfg.safety_margin
    gov, clock, _ = make(cfg)
    x = -0.6
    for _ in range(600):
        out = feed(gov, clock, cfg.v_max, 0.0, gap_scan(x, half))
        if -0.05 < x < 0.4:  # (near the end the walls are beside and behind: not approached)
            assert out.v <= cfg.creep_speed + 1e-9
        x += out.v * cfg.period
    assert x > 0.6, "it got through"
    # with no creep (creep_margin = safety_margin) it stops before the passage
    gov, clock, _ = make(ControlConfig(creep_margin=cfg.safety_margin))
    x = -0.6
    for _ in range(600):
        x += feed(gov, clock, cfg.v_max, 0.0, gap_scan(x, half)).v * cfg.period
    assert x < -0.05


def test_braking_cap_lets_the_robot_stop_in_time():
    """Drive at a wall with the governor's output integrated: never closer than the margin."""
    cfg = ControlConfig()
    gov, clock, _ = make(cfg)
    x, v_prev = 0.0, 0.0
    wall = 1.0
    for _ in range(300):
        ahead = wall - x
        ranges = np.where(np.abs(ANGLES) < math.pi / 2, ahead / np.maximum(np.cos(ANGLES), 1e-3),
                          6.0)
        out = feed(gov, clock, cfg.v_max, 0.0, np.minimum(ranges, 6.0))
        # the base brakes at most at a_brake
        v = min(out.v, v_prev + cfg.a_max * cfg.period)
        v = max(v, v_prev - cfg.a_brake * cfg.period)
        x += v * cfg.period
        v_prev = v
        assert wall - x > cfg.robot_radius, "footprint reached the wall"
    assert wall - x < cfg.stop_radius + 0.1, "stopped needlessly far away"
    assert abs(v_prev) < 1e-6


def test_watchdog_stale_command_and_sensors():
    cfg = ControlConfig()
    gov, clock, _ = make(cfg)
    for _ in range(20):
        out = feed(gov, clock, 0.3, 0.0)
    assert out.v > 0
    clock.t += cfg.cmd_timeout_s + 0.01
    gov.observe_scan(open_scan(), ANGLES, range_max=6.0)
    gov.observe_odom(0.0, 0.0)
    out = gov.tick()
    assert (out.v, out.w) == (0.0, 0.0) and "stale_command" in out.reasons and out.halted
    gov.propose(0.3, 0.0)
    clock.t += cfg.sensor_timeout_s + 0.01
    gov.propose(0.3, 0.0)
    out = gov.tick()
    assert (out.v, out.w) == (0.0, 0.0)
    assert {"stale_scan", "stale_odom"} <= set(out.reasons)


def test_latched_stop_and_resume():
    gov, clock, _ = make()
    feed(gov, clock, 0.3, 0.0)
    out = gov.stop()
    assert (out.v, out.w) == (0.0, 0.0) and "stopped" in out.reasons
    assert feed(gov, clock, 0.3, 0.0).v == 0.0
    gov.resume()
    assert feed(gov, clock, 0.3, 0.0).v > 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_command_scan_odom_stop(bad):
    gov, clock, _ = make()
    for _ in range(10):
        feed(gov, clock, 0.3, 0.0)
    assert gov.propose(bad, 0.0) is False
    assert gov.tick().v == 0.0
    ranges = open_scan()
    ranges[5] = bad
    clock.t += 0.02
    assert gov.observe_scan(ranges, ANGLES) is False
    gov.propose(0.3, 0.0)
    out = gov.tick()
    assert out.v == 0.0 and "invalid_scan" in out.reasons
    assert gov.observe_odom(bad, 0.0) is False
    gov.observe_scan(open_scan(), ANGLES)
    out = gov.tick()
    assert out.v == 0.0 and "invalid_odom" in out.reasons
    gov.observe_odom(0.0, 0.0)
    clock.t += 0.02
    assert gov.tick().v > 0.0  # valid inputs again: moving again


def test_property_random_inputs_never_escape_limits():
    """Thousands of random (often hostile) inputs: the output is always finite, within limits,
    never accelerates beyond a_max, and never drives towards a hit inside the stop radius."""
    cfg = ControlConfig()
    gov, clock, sink = make(cfg)
    rng = np.random.default_rng(0)
    specials = [math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0]
    prev_v = prev_w = 0.0
    seen = np.full(ANGLES.shape, 6.0)
    for _ in range(5000):
        clock.t += rng.uniform(0.0, 0.05)
        v = rng.choice(specials) if rng.random() < 0.1 else rng.normal(0, 2)
        w = rng.choice(specials) if rng.random() < 0.1 else rng.normal(0, 5)
        ranges = rng.uniform(0.05, 6.0, ANGLES.size)
        if rng.random() < 0.5:
            ranges = np.maximum(ranges, 1.0)
        if rng.random() < 0.05:
            ranges[rng.integers(ANGLES.size)] = rng.choice(specials[:3])
        if rng.random() < 0.9 and gov.observe_scan(ranges, ANGLES, range_max=6.0):
            seen = ranges
        if rng.random() < 0.9:
            gov.observe_odom(rng.normal(), rng.normal())
        if rng.random() < 0.9:
            gov.propose(v, w)
        out = gov.tick()
        assert math.isfinite(out.v) and math.isfinite(out.w)
        assert -cfg.v_reverse_max - 1e-12 <= out.v <= cfg.v_max + 1e-12
        assert abs(out.w) <= cfg.w_max + 1e-12
        if not out.halted and "obstacle_front" not in out.reasons and (
            "braking_cap" not in out.reasons and "obstacle_rear" not in out.reasons
        ):
            assert abs(out.v) - abs(prev_v) <= cfg.a_max * 2 * cfg.period + 1e-9
            assert abs(out.w - prev_w) <= cfg.alpha_max * 2 * cfg.period + 1e-9
        if out.v != 0.0:
            # nothing inside the stop radius in the cone of travel of the scan in use (only
            # inside the creep stop radius at creep speed)
            bearing = np.abs(ANGLES) if out.v > 0 else math.pi - np.abs(ANGLES)
            radius = cfg.stop_radius if abs(out.v) > cfg.creep_speed + 1e-9 else (
                cfg.creep_stop_radius)
            near = (seen < radius) & (bearing < math.radians(cfg.stop_cone_deg) / 2)
            assert not near.any()
        prev_v, prev_w = out.v, out.w
    assert len(sink.sent) == 5000
