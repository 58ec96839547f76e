"""Configuration of the planning environment (``embodied_collab/HouseholdPlan-v0``)."""

from __future__ import annotations

from dataclasses import dataclass

from embodied_collab.sim.catalog import DIFFICULTIES

#: Upper bound of generator world seeds (seeds are drawn from ``[0, MAX_WORLD_SEED)``).
MAX_WORLD_SEED = 2**31 - 1


@dataclass(kw_only=True)
class PlanningConfig:
    """Settings of :class:`embodied_collab.sim.planning_env.HouseholdPlanEnv`.

    Attributes:
        difficulty: difficulty of generated tasks: one of the catalog's difficulties, ``1``-``4``,
            or ``mixed`` (each episode draws one). Ignored when the env is given a suite.
        world_seed_low: generated worlds use seeds drawn uniformly from
            ``[world_seed_low, world_seed_high)`` (keep training and held-out ranges apart).
        world_seed_high: see ``world_seed_low``.
        max_steps: high-level actions per episode before it is truncated.
        reward_success: reward of ``done`` when the task's success predicate holds.
        penalty_failed: reward (negative) of a well-formed action whose preconditions fail, and of
            ``done`` without success.
        penalty_invalid: reward (negative) of an unparseable action, an empty slot, or an object
            the robot has not observed.
        explore_weight: shaped reward per newly observed object.
        distance_weight: shaped penalty per metre driven.
        progress_weight: shaped reward the first time the target object is observed, and the
            first time it is picked up.
        observe_start_room: at reset the robot sees the open surfaces of the room it starts in.
        observation_source: ``ground_truth``: entering a room or opening a container reveals what
            is visible there (read from the world); ``external``: nothing is revealed by the env
            itself, an outside observer (the camera and detector) reports sightings through
            :meth:`HouseholdPlanEnv.observe`.
        text_history: how many past actions ``info["text"]`` lists (0: none).
        cache_size: prepared worlds (navigation distances) kept per process.
    """

    difficulty: str = "mixed"
    world_seed_low: int = 0
    world_seed_high: int = MAX_WORLD_SEED
    max_steps: int = 30
    reward_success: float = 5.0
    penalty_failed: float = -0.3
    penalty_invalid: float = -0.1
    explore_weight: float = 0.05
    distance_weight: float = 0.01
    progress_weight: float = 0.2
    observe_start_room: bool = True
    observation_source: str = "ground_truth"
    text_history: int = 8
    cache_size: int = 512

    def __post_init__(self) -> None:
        from embodied_collab.sim.generate import parse_difficulty

        try:
            parse_difficulty(self.difficulty)
        except ValueError:
            raise ValueError(
                f"difficulty must be one of {DIFFICULTIES}, 1-{len(DIFFICULTIES)} or 'mixed'; "
                f"got {self.difficulty!r}"
            ) from None
        if not 0 <= self.world_seed_low < self.world_seed_high <= MAX_WORLD_SEED:
            raise ValueError(
                f"world seeds must satisfy 0 <= world_seed_low < world_seed_high <= "
                f"{MAX_WORLD_SEED}; got [{self.world_seed_low}, {self.world_seed_high})"
            )
        if self.observation_source not in ("ground_truth", "external"):
            raise ValueError(
                "observation_source must be 'ground_truth' or 'external', "
                f"got {self.observation_source!r}"
            )
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.reward_success <= 0:
            raise ValueError(f"reward_success must be > 0, got {self.reward_success}")
        if self.penalty_failed > 0:
            raise ValueError(f"penalty_failed must be <= 0, got {self.penalty_failed}")
        if self.penalty_invalid > 0:
            raise ValueError(f"penalty_invalid must be <= 0, got {self.penalty_invalid}")
        for name in ("explore_weight", "distance_weight", "progress_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.text_history < 0:
            raise ValueError(f"text_history must be >= 0, got {self.text_history}")
        if self.cache_size < 1:
            raise ValueError(f"cache_size must be >= 1, got {self.cache_size}")
