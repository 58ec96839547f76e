"""The continuous navigation environment ``embodied_collab/HouseholdNav-v0``."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest

import embodied_collab.sim  # noqa: F401  (registers the ids)
from embodied_collab.sim.config_sim import SimConfig
from embodied_collab.sim.continuous_env import HouseholdNavEnv
from embodied_collab.sim.generate import generate_suite

from .continuous_worlds import room_world, table

ENV_ID = "embodied_collab/HouseholdNav-v0"
SMALL_CAM = SimConfig(camera_width=32, camera_height=24, lidar_beams=16)


def test_gymnasium_env_checker():
    from gymnasium.utils.env_checker import check_env

    env = gym.make(ENV_ID, world_seed=1, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("camera", [False, True])
def test_sb3_env_checker(camera):
    from stable_baselines3.common.env_checker import check_env

    env = HouseholdNavEnv(world_seed=2, camera=camera, config=SMALL_CAM, clutter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(env, warn=False)
    obs, _ = env.reset(seed=0)
    if camera:
        assert obs["rgb"].shape == (24, 32, 3) and obs["depth"].shape == (24, 32)
        assert obs["state"].shape == (21,)
    else:
        assert obs.shape == (21,)


def _rollout(seed: int, n: int = 60, **kwargs):
    env = gym.make(ENV_ID, world_seeds=[4, 5, 6], clutter=3, **kwargs)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    seq = [obs]
    rewards = []
    for _ in range(n):
        obs, r, term, trunc, _ = env.step(env.action_space.sample())
        seq.append(obs)
        rewards.append(r)
        if term or trunc:
            obs, _ = env.reset()
            seq.append(obs)
    return np.array(seq), np.array(rewards)


def test_same_seed_gives_the_same_observations():
    a, ra = _rollout(7)
    b, rb = _rollout(7)
    c, _ = _rollout(8)
    assert np.array_equal(a, b) and np.array_equal(ra, rb)
    assert a.shape != c.shape or not np.array_equal(a, c)


def _drive_along(env: HouseholdNavEnv, max_steps: int = 600):
    """A pure-pursuit driver on the occupancy grid's shortest path (a test helper)."""
    from embodied_collab.sim.navgrid import NavGrid

    sim = env.sim
    # more clearance than the env's grid: the pursuit cuts corners a little
    path = NavGrid(env.world, clearance=0.1).path(sim.pose[:2], env.goal)
    assert path, "goal unreachable"
    total, info, k = 0.0, {}, 0
    for _ in range(max_steps):
        x, y, th = sim.pose
        while k < len(path) - 1 and math.hypot(path[k][0] - x, path[k][1] - y) < 0.35:
            k += 1
        tx, ty = path[k]
        err = (math.atan2(ty - y, tx - x) - th + math.pi) % (2 * math.pi) - math.pi
        v = 0.8 * max(0.0, math.cos(err)) ** 4
        _, r, term, trunc, info = env.step(np.array([v, np.clip(2.0 * err, -1, 1)], np.float32))
        total += r
        if term or trunc:
            break
    return total, info


def test_following_the_shortest_path_reaches_the_goal_with_positive_return():
    env = HouseholdNavEnv(world_seed=9)
    successes = 0
    for ep in range(3):
        env.reset(seed=ep)
        start_geo = env._geo
        total, info = _drive_along(env)
        successes += info["success"]
        if info["success"]:
            # progress reward sums to about the geodesic start distance, plus the bonus
            assert total > env.success_bonus + 0.5 * start_geo - 0.01 * 600
            assert not info["collided"]
    assert successes == 3


def test_goal_can_be_a_furniture_id_or_a_point():
    world = room_world(furniture=[table()], robot=(0.8, 0.8, 0.0))
    env = HouseholdNavEnv(world=world, random_start=False)
    _, info = env.reset(seed=0, options={"goal": "table_1"})
    assert info["goal_id"] == "table_1" and info["goal"] == pytest.approx((2.17, 2.0))
    _, info = env.reset(seed=0, options={"goal": (1.0, 3.0)})
    assert info["goal"] == (1.0, 3.0) and info["goal_id"] is None
    total, info = _drive_along(env, 200)
    assert info["success"]
    with pytest.raises(KeyError, match="sofa_9"):
        env.reset(options={"goal": "sofa_9"})


def test_collision_terminates_with_a_penalty_and_can_be_disabled():
    world = room_world(robot=(2.0, 2.0, 0.0))
    for terminate in (True, False):
        env = HouseholdNavEnv(world=world, random_start=False, terminate_on_collision=terminate)
        env.reset(seed=0, options={"goal": (0.5, 2.0)})
        hit = None
        for _ in range(100):
            _, r, term, _, info = env.step(np.array([1.0, 0.0], np.float32))
            if info["collided"]:
                hit = (r, term)
                break
        assert hit is not None
        assert hit[0] < -env.collision_penalty + 0.1
        assert hit[1] is terminate
        x = env.sim.pose[0]
        assert x < 4.0  # never through the wall


def test_clutter_is_seen_by_the_lidar_but_not_in_the_map():
    env = HouseholdNavEnv(world_seed=3, clutter=4)
    env.reset(seed=1)
    assert len(env.sim.extra_objects) == 4
    assert len(env.sim.obstacles.circles) == 4
    assert all(o.relation == "floor" for o in env.sim.extra_objects)
    assert not any(o.id.startswith("clutter") for o in env.world.objects)
    # the obstacles are in the lidar: scans differ from those of an uncluttered world
    clean = HouseholdNavEnv(world_seed=3, clutter=0)
    clean.reset(seed=1)
    clean.sim.set_pose(*env.sim.pose)
    assert not np.array_equal(clean.sim.scan(), env.sim.scan())


def test_suite_tasks_set_the_goal_and_render_gives_a_map(tmp_path):
    suite = generate_suite(2, "fetch", seed=3)
    path = tmp_path / "suite.json"
    suite.save(path)
    env = HouseholdNavEnv(suite=path, render_mode="rgb_array")
    _, info = env.reset(seed=0)
    task_goals = set()
    for t in suite.tasks:
        w = t.world()
        task_goals.add(w.object_by_id(t.goal.object).support)
    assert info["goal_id"] in task_goals
    img = env.render()
    assert img.ndim == 3 and img.dtype == np.uint8


@pytest.mark.parametrize("kwargs,match", [
    ({"clutter": -1}, "clutter"), ({"render_mode": "human"}, "render_mode"),
    ({"goal_tolerance": 0.0}, "goal_tolerance"), ({"world_seeds": []}, "world_seeds"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HouseholdNavEnv(**kwargs)


def test_bad_actions_are_rejected():
    env = HouseholdNavEnv(world_seed=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(2, np.float32))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="2 finite numbers"):
        env.step(np.array([np.nan, 0.0]))


def test_benchmark_functions_return_rates():
    from embodied_collab.sim.bench_continuous import camera_frames_per_s, continuous_steps_per_s

    assert continuous_steps_per_s(seconds=0.3) > 10
    assert camera_frames_per_s(seconds=0.3) > 1
    assert camera_frames_per_s(seconds=0.2, width=320, height=240, clock="wall") > 1
    with pytest.raises(ValueError, match="seconds"):
        continuous_steps_per_s(seconds=0)
    with pytest.raises(ValueError, match="clock"):
        camera_frames_per_s(seconds=0.1, clock="sundial")
