"""The privileged oracle: plans, success on generated tasks of every difficulty, path lengths."""

from __future__ import annotations

import pytest

from embodied_collab.errors import InvalidInputError
from embodied_collab.sim.bench import oracle_success
from embodied_collab.sim.catalog import DIFFICULTIES
from embodied_collab.sim.generate import generate_task
from embodied_collab.sim.oracle import (
    OraclePolicy,
    oracle_path_length,
    oracle_plan,
    run_oracle_episode,
)
from embodied_collab.sim.planning_env import HouseholdPlanEnv


def test_oracle_solves_99_percent_of_every_difficulty():
    result = oracle_success(n_per_difficulty=100, seed=20_000)
    assert result["episodes"] == 100 * len(DIFFICULTIES)
    for diff in DIFFICULTIES:
        assert result["per_difficulty"][diff] >= 0.99, (diff, result["failures"])


def test_plan_shape_for_a_hidden_object():
    task = generate_task(6, "search")
    world = task.world()
    goal = task.goal
    obj = world.object_by_id(goal.object)
    assert obj.relation == "in"
    plan = oracle_plan(world, task)
    assert plan[:3] == [f"navigate {obj.support}", f"open {obj.support}", f"pick {obj.id}"]
    assert plan[-2:] == [f"place {goal.target}", "done"]
    # from the support itself, no navigation is needed first
    assert oracle_plan(world, task, at=obj.support)[0] == f"open {obj.support}"


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_policy_in_env_matches_plan_and_path_length(difficulty):
    env = HouseholdPlanEnv()
    result = run_oracle_episode(env, options={"world_seed": 11, "difficulty": difficulty})
    task = env.task
    assert result["success"]
    world = generate_task(11, difficulty).world()
    assert result["actions"] == oracle_plan(world, task)
    assert result["path_length"] == pytest.approx(oracle_path_length(world, task), abs=1e-3)


def test_policy_replans_after_a_detour():
    env = HouseholdPlanEnv()
    _, info = env.reset(options={"world_seed": 5, "difficulty": "multi_step"})
    rooms = env.codec.rooms
    env.step(f"navigate {rooms[-1]}")  # a detour the oracle did not plan
    policy = OraclePolicy()
    term = trunc = False
    while not (term or trunc):
        _, _, term, trunc, info = env.step(policy(env))
    assert info["is_success"]


def test_unsupported_predicate():
    world = generate_task(1, "fetch").world()
    with pytest.raises(InvalidInputError, match="cannot plan"):
        oracle_plan(world, {"any": [{"holding": world.objects[0].id}]})
    plan = oracle_plan(world, {"open": next(f.id for f in world.furniture if f.container)})
    assert plan[0].startswith("navigate") and plan[1].startswith("open") and plan[-1] == "done"
