"""Throughput of the continuous simulator on one core (used by ``embodied-collab bench sim``).

Rates are per second of this process's CPU time by default (``clock="cpu"``), with numpy and
torch limited to one thread: on an idle core that equals wall-clock throughput, and on a
machine shared with other jobs it still measures what one core delivers. ``clock="wall"``
measures elapsed time instead.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time

import numpy as np


@contextlib.contextmanager
def _one_thread():
    """Limit numpy's (and torch's, if loaded) thread pools to one thread."""
    if "torch" in sys.modules:
        import torch

        prev = torch.get_num_threads()
        torch.set_num_threads(1)
    else:
        prev = None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn/scipy stacks
        cm = contextlib.nullcontext()
    else:
        cm = threadpool_limits(1)
    try:
        with cm:
            yield
    finally:
        if prev is not None:
            sys.modules["torch"].set_num_threads(prev)


def _clock(clock: str):
    if clock == "cpu":
        return time.process_time
    if clock == "wall":
        return time.perf_counter
    raise ValueError(f"clock must be 'cpu' or 'wall', got {clock!r}")


def continuous_steps_per_s(seconds: float = 3.0, world_seed: int = 3, clock: str = "cpu") -> float:
    """Steps per second of ``HouseholdNavEnv`` with lidar, no camera, random actions.

    Resets (on termination) are included in the time; the world is generated once.
    """
    from embodied_collab.sim.continuous_env import HouseholdNavEnv

    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    now = _clock(clock)
    with _one_thread():
        env = HouseholdNavEnv(world_seed=world_seed, terminate_on_collision=True)
        env.reset(seed=0)
        actions = np.random.default_rng(0).uniform(-1, 1, size=(4096, 2)).astype(np.float32)
        # forward-biased actions: the robot actually drives around instead of spinning
        actions[:, 0] = np.abs(actions[:, 0])
        n, t0 = 0, now()
        while True:
            for _ in range(100):
                _, _, term, trunc, _ = env.step(actions[n % len(actions)])
                n += 1
                if term or trunc:
                    env.reset()
            elapsed = now() - t0
            if elapsed >= seconds:
                return n / elapsed


def camera_frames_per_s(seconds: float = 3.0, width: int = 160, height: int = 120,
                        world_seed: int = 3, clock: str = "cpu") -> float:
    """Camera frames (RGB + depth + instance mask) rendered per second from varied poses."""
    from embodied_collab.sim.camera import Camera
    from embodied_collab.sim.generate import generate_world
    from embodied_collab.sim.navgrid import NavGrid

    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    now = _clock(clock)
    with _one_thread():
        world = generate_world(world_seed)
        grid = NavGrid(world)
        rng = np.random.default_rng(0)
        free = np.argwhere(grid.free)
        poses = []
        for k in rng.integers(len(free), size=64):
            x, y = grid.to_world(int(free[k][1]), int(free[k][0]))
            poses.append((x, y, float(rng.uniform(-math.pi, math.pi))))
        cam = Camera(width=width, height=height)
        n, t0 = 0, now()
        while True:
            for _ in range(10):
                cam.render(world, poses[n % len(poses)])
                n += 1
            elapsed = now() - t0
            if elapsed >= seconds:
                return n / elapsed


def main() -> None:  # pragma: no cover - convenience for profiling
    import json
    import os

    print(json.dumps({
        "continuous_steps_per_s": round(continuous_steps_per_s(), 1),
        "camera_frames_per_s": round(camera_frames_per_s(), 1),
        "camera_frames_per_s_320x240": round(camera_frames_per_s(width=320, height=240), 1),
        "wall_clock": {
            "continuous_steps_per_s": round(continuous_steps_per_s(clock="wall"), 1),
            "camera_frames_per_s": round(camera_frames_per_s(clock="wall"), 1),
        },
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
    }))


if __name__ == "__main__":  # pragma: no cover
    main()
