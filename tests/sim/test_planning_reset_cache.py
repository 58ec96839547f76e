"""Regression: the planning env's reset cache must never serve another world's working copy.

Its working worlds were keyed by ``id(places)``; once the prepared-world cache evicted a
``PlaceMap``, a new one could reuse the address and reset handed out a stale world (seen as
``KeyError: 'cabinet_4'`` in ``Episode._sync_object`` during MLP-PPO training).
"""

from __future__ import annotations

import gc

from embodied_collab.sim.config_planning import PlanningConfig
from embodied_collab.sim.planning_env import HouseholdPlanEnv
from embodied_collab.sim.planning_episode import prepared_world


def test_reset_after_cache_eviction_uses_the_new_world():
    from embodied_collab.sim.generate import generate_task

    env = HouseholdPlanEnv(PlanningConfig(cache_size=64))
    try:
        for seed in range(60):
            env.reset(seed=seed, options={"world_seed": 5000 + seed, "difficulty": "fetch"})
            task = env.unwrapped.episode.task
            pristine, _ = prepared_world(task, 64)
            world = env.unwrapped.episode.world
            assert world is not pristine
            assert [f.id for f in world.furniture] == [f.id for f in pristine.furniture]
            assert [o.id for o in world.objects] == [o.id for o in pristine.objects]
            # another user of the shared prepared-world cache evicts this world's PlaceMap
            prepared_world(generate_task(9000 + seed, "fetch"), 1)
            gc.collect()  # lets the evicted PlaceMap's address be reused
    finally:
        env.close()
