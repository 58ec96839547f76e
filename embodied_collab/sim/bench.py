"""The simulator benchmark (``embodied-collab bench sim``): planning-env throughput and the
oracle's success rate, plus the continuous simulator's numbers from :mod:`bench_continuous`."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from embodied_collab.sim.catalog import DIFFICULTIES

logger = logging.getLogger(__name__)


def planning_steps_per_s(seconds: float = 3.0, n_tasks: int = 40, seed: int = 0) -> float:
    """High-level steps per second of ``HouseholdPlanEnv`` on a pool of pre-built tasks.

    The pool (``n_tasks`` generated tasks, all difficulties) is prepared before timing, so the
    timed loop is steps plus resets from the pool. The acting policy picks a valid action (from
    ``info["action_mask"]``) 80% of the time and a uniformly random one otherwise, so steps mix
    successful moves, failures and invalid actions; its cost is included in the time.
    Time is the process's CPU time (the loop is single-threaded), so the number means "steps per
    second of one core" even on a machine shared with other jobs.
    """
    from embodied_collab.sim.bench_continuous import _one_thread
    from embodied_collab.sim.generate import generate_suite
    from embodied_collab.sim.planning_env import N_ACTIONS, HouseholdPlanEnv

    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    with _one_thread():
        suite = generate_suite(n_tasks, "mixed", seed=seed)
        env = HouseholdPlanEnv(suite=suite)
        for i in range(len(suite)):
            env.reset(options={"task_index": i})
        rnd = random.Random(seed)
        _, info = env.reset(seed=seed)
        n, t0 = 0, time.process_time()
        while True:
            for _ in range(200):
                if rnd.random() < 0.8:
                    valid = info["action_mask"].nonzero()[0]
                    action = int(valid[rnd.randrange(len(valid))])
                else:
                    action = rnd.randrange(N_ACTIONS)
                _, _, term, trunc, info = env.step(action)
                n += 1
                if term or trunc:
                    _, info = env.reset()
            elapsed = time.process_time() - t0
            if elapsed >= seconds:
                return n / elapsed


def oracle_success(n_per_difficulty: int = 100, seed: int = 10_000,
                   progress: bool = False) -> dict[str, Any]:
    """Run the privileged oracle in the planning env on generated tasks of every difficulty.

    Returns:
        ``{"success_rate", "per_difficulty": {d: rate}, "spl", "mean_path_length", "episodes",
        "failures": [task ids]}``. SPL uses the oracle's own plan length, so it is 1.0 exactly
        when the oracle drives its planned route.
    """
    from embodied_collab.sim.generate import generate_suite
    from embodied_collab.sim.oracle import oracle_path_length, run_oracle_episode
    from embodied_collab.sim.planning_env import HouseholdPlanEnv, prepared_world

    if n_per_difficulty < 1:
        raise ValueError(f"n_per_difficulty must be >= 1, got {n_per_difficulty}")
    per: dict[str, float] = {}
    failures: list[str] = []
    spl_sum, length_sum, total = 0.0, 0.0, 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_per_difficulty * len(DIFFICULTIES), desc="oracle", unit="task")
    for diff in DIFFICULTIES:
        # the same worlds for every difficulty (different tasks): prepared once, cached by seed
        suite = generate_suite(n_per_difficulty, diff, seed=seed)
        env = HouseholdPlanEnv(suite=suite)
        ok = 0
        for i, task in enumerate(suite):
            r = run_oracle_episode(env, options={"task_index": i})
            world, _ = prepared_world(task)
            best = oracle_path_length(world, task)
            length_sum += r["path_length"]
            if r["success"]:
                ok += 1
                spl_sum += best / max(best, r["path_length"]) if r["path_length"] > 0 else 1.0
            else:
                failures.append(f"{diff}:{task.world_seed}")
            total += 1
            if bar is not None:
                bar.update(1)
        per[diff] = ok / len(suite)
    if bar is not None:
        bar.close()
    return {
        "success_rate": sum(per.values()) / len(per),
        "per_difficulty": per,
        "spl": spl_sum / total,
        "mean_path_length": length_sum / total,
        "episodes": total,
        "failures": failures,
    }


def bench_sim(seconds: float = 3.0, n_per_difficulty: int = 100, progress: bool = False,
              continuous: bool = True) -> dict[str, Any]:
    """All simulator numbers: ``continuous_steps_per_s``, ``camera_frames_per_s``,
    ``planning_steps_per_s``, ``oracle_success_rate`` (+ details)."""
    out: dict[str, Any] = {}
    if continuous:
        from embodied_collab.sim.bench_continuous import (
            camera_frames_per_s,
            continuous_steps_per_s,
        )

        out["continuous_steps_per_s"] = round(continuous_steps_per_s(seconds), 1)
        out["camera_frames_per_s"] = round(camera_frames_per_s(seconds), 1)
    out["planning_steps_per_s"] = round(planning_steps_per_s(seconds), 1)
    oracle = oracle_success(n_per_difficulty, progress=progress)
    out["oracle_success_rate"] = round(oracle["success_rate"], 4)
    out["oracle_per_difficulty"] = {k: round(v, 4) for k, v in oracle["per_difficulty"].items()}
    out["oracle_spl"] = round(oracle["spl"], 4)
    out["oracle_mean_path_length_m"] = round(oracle["mean_path_length"], 2)
    out["oracle_episodes"] = oracle["episodes"]
    out["oracle_failures"] = oracle["failures"][:20]
    return out
