"""The simulated household: world model, procedural generation, Gymnasium environments.

Importing this package registers the environments:

- ``embodied_collab/HouseholdNav-v0``: continuous world, differential-drive robot, lidar (and
  optionally an RGB-D camera); drive to a goal pose.
- ``embodied_collab/HouseholdPlan-v0``: the same world as a scene graph under partial
  observability, with high-level actions (navigate, open, pick, place, done).
"""

from gymnasium.envs.registration import register, registry

ENV_IDS = ("embodied_collab/HouseholdNav-v0", "embodied_collab/HouseholdPlan-v0")

if ENV_IDS[0] not in registry:
    register(
        id=ENV_IDS[0],
        entry_point="embodied_collab.sim.continuous_env:HouseholdNavEnv",
        max_episode_steps=600,
    )
if ENV_IDS[1] not in registry:
    register(
        id=ENV_IDS[1],
        entry_point="embodied_collab.sim.planning_env:HouseholdPlanEnv",
        max_episode_steps=40,
    )
