"""``embodied-collab bench control``: learned vs classical local controller on unseen layouts.

Success, collisions and time ratio come from driving :func:`episodes.make_episode` episodes in
simulated time. Loop rate and period jitter come from the ROS 2 control node publishing
``/cmd_vel`` to a subscriber in another process (:mod:`embodied_collab.ros.control_timing`) when
rclpy is importable, else from running the loop at its fixed rate on the wall clock in-process;
the JSON's ``timing_source`` says which.
"""

from __future__ import annotations

import importlib.util
import logging
import time

import numpy as np

from embodied_collab.control.config_control import ControlConfig
from embodied_collab.control.episodes import make_episode, make_sim, run_episode
from embodied_collab.control.loop import ControlLoop, run_fixed_rate

logger = logging.getLogger(__name__)


def measure_timing(config: ControlConfig, seconds: float = 5.0, seed: int = 7) -> dict:
    """Run the loop at ``config.rate_hz`` on the wall clock, the simulator stepped in lockstep."""
    ep = make_episode(seed)
    sim = make_sim(ep)
    loop = ControlLoop(config, ep.map_world, sim.set_cmd_vel)
    angles = sim.lidar.angles

    def step(now: float) -> bool:
        loop.on_odom(sim.pose, sim.velocity)
        loop.on_scan(sim.scan(), angles, sim.range_max)
        loop.step()
        sim.step(config.period)
        return True

    loop.on_odom(sim.pose, sim.velocity)
    loop.on_scan(sim.scan(), angles, sim.range_max)
    loop.set_goal(ep.goal)
    return run_fixed_rate(step, config.rate_hz, seconds).summary()


def bench_controller(name: str, episodes: int, seed: int, config: ControlConfig,
                     timing_s: float, progress: bool = False) -> dict:
    """Aggregate results of one controller over ``episodes`` episodes."""
    from tqdm import tqdm

    cfg = ControlConfig(**{**config.__dict__, "controller": name})
    results = []
    t0 = time.perf_counter()
    for i in tqdm(range(episodes), desc=f"bench {name}", disable=not progress, mininterval=2):
        results.append(run_episode(make_episode(seed + i), cfg))
    ok = [r for r in results if r.status == "succeeded"]
    source = "in-process"
    # the core never imports rclpy: only ask whether the ROS layer is installed
    has_ros = importlib.util.find_spec("rclpy") is not None
    if timing_s <= 0:
        timing, source = {"loop_hz": None, "period_jitter_ms_p99": None}, "not measured"
    elif not has_ros:
        timing = measure_timing(cfg, timing_s)
    else:
        from embodied_collab.ros.control_timing import measure_control_over_ros

        timing = measure_control_over_ros(name, rate_hz=cfg.rate_hz, seconds=timing_s)
        source = "ros2 (/cmd_vel arrivals in another process)"
    return {
        "success_rate": round(len(ok) / len(results), 4),
        "collisions": int(sum(r.collisions for r in results)),
        "time_ratio_to_oracle": round(float(np.mean([r.time_ratio for r in ok])), 3) if ok
        else None,
        "loop_hz": timing["loop_hz"],
        "period_jitter_ms_p99": timing["period_jitter_ms_p99"],
        "timing_source": source,
        "episodes": len(results),
        "statuses": {s: sum(r.status == s for r in results)
                     for s in sorted({r.status for r in results})},
        "failed_seeds": [r.seed for r in results if r.status != "succeeded"][:20],
        "governor_interventions": int(sum(r.governor_interventions for r in results)),
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def run_bench(episodes: int = 200, seed: int = 500_000, config: ControlConfig | None = None,
              controllers: tuple[str, ...] = ("learned", "classical"), timing_s: float = 5.0,
              progress: bool = False) -> dict:
    """``{"learned": {...}, "classical": {...}}`` over the same unseen episodes."""
    config = config or ControlConfig()
    out = {name: bench_controller(name, episodes, seed, config, timing_s, progress)
           for name in controllers}
    out["settings"] = {"episodes": episodes, "seed": seed, "rate_hz": config.rate_hz,
                       "v_max": config.v_max,
                       "oracle": "geodesic path length (clutter included) / v_max"}
    return out
