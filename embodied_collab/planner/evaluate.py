"""Evaluating planning policies on task suites: success, SPL, invalid actions, latency.

A policy here is an *agent*: ``agent(env, obs, info) -> action`` (a slot index or action text).
:func:`make_agent` builds the named ones (``slm``, a checkpoint path, ``oracle``, ``random``,
``mlp-ppo``, ``llm``); :func:`evaluate` runs one episode per task of a suite.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from embodied_collab.errors import InvalidFileError, ModelNotAvailable

logger = logging.getLogger(__name__)

Agent = Callable[[Any, np.ndarray, dict[str, Any]], "int | str"]
POLICY_NAMES = ("slm", "oracle", "random", "mlp-ppo", "llm")
#: The MLP-PPO baseline checkpoint under ``embodied_collab/data/planner/``.
MLP_PPO_FILE = "mlp_ppo.zip"


def load_suite(path: str | Path):
    """Load a suite file; every problem raises :class:`InvalidFileError` naming it."""
    from embodied_collab.sim.tasks import Suite

    suite = Suite.load(path)
    if len(suite) == 0:
        raise InvalidFileError("suite has no tasks", path=str(path), json_path="$.tasks")
    return suite


def oracle_agent() -> Agent:
    from embodied_collab.sim.oracle import OraclePolicy

    policy = OraclePolicy()
    return lambda env, obs, info: policy(env)


def random_agent(seed: int = 0) -> Agent:
    """Uniform over the action slots that name something in the current world."""
    rng = np.random.default_rng(seed)

    def act(env, obs, info):
        names = env.unwrapped.codec.names
        return int(rng.choice([i for i, n in enumerate(names) if n is not None]))

    return act


def slm_agent(path: str | Path | None = None, *, action_masking: bool | None = None) -> Agent:
    from embodied_collab.planner.policy import SLMPolicy, load_default

    policy = load_default(action_masking=action_masking) if path is None else \
        SLMPolicy.load(path, action_masking=action_masking)
    return lambda env, obs, info: policy.act_env(env, info)[0]


def mlp_ppo_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("embodied_collab") / "data" / "planner" / MLP_PPO_FILE))


def mlp_ppo_agent(path: str | Path | None = None) -> Agent:
    """The SB3 MLP-policy PPO baseline (feature observation)."""
    from stable_baselines3 import PPO

    path = Path(path) if path else mlp_ppo_path()
    if not path.is_file():
        raise ModelNotAvailable(f"MLP-PPO baseline not found: {path} (run `embodied-collab train "
                                f"planner --baseline mlp-ppo`)")
    try:
        model = PPO.load(path, device="cpu")
    except Exception as exc:  # SB3 raises zipfile/pickle/key errors for corrupt files
        raise InvalidFileError(f"not a readable SB3 PPO file ({type(exc).__name__})",
                               path=str(path)) from None
    return lambda env, obs, info: int(model.predict(obs, deterministic=True)[0])


def llm_agent(base_url: str) -> Agent:
    from embodied_collab.planner.teachers import LLMTeacher

    teacher = LLMTeacher(base_url)
    return lambda env, obs, info: teacher.act(env, info)


def make_agent(policy: str, *, llm_url: str | None = None, action_masking: bool | None = None,
               seed: int = 0) -> Agent:
    """The agent named ``policy`` (one of :data:`POLICY_NAMES` or a checkpoint path)."""
    if policy == "slm":
        return slm_agent(action_masking=action_masking)
    if policy == "oracle":
        return oracle_agent()
    if policy == "random":
        return random_agent(seed)
    if policy == "mlp-ppo":
        return mlp_ppo_agent()
    if policy == "llm":
        if not llm_url:
            raise ValueError("policy 'llm' needs an endpoint URL (or let the CLI start one)")
        return llm_agent(llm_url)
    if policy.endswith(".zip"):
        return mlp_ppo_agent(policy)
    if Path(policy).suffix == ".pt" or Path(policy).exists():
        return slm_agent(policy, action_masking=action_masking)
    raise ValueError(f"unknown policy {policy!r}: use a checkpoint path or one of {POLICY_NAMES}")


def evaluate(tasks, agent: Agent, *, planning_config=None, progress: bool = False,
             desc: str = "eval", time_budget_s: float | None = None) -> dict[str, Any]:
    """Run ``agent`` once on every task and aggregate the metrics.

    ``time_budget_s`` bounds slow agents (an LLM on a loaded CPU): once it is spent, the
    running episode is dropped unfinished (not counted), and ``episodes`` says how many ran.

    Returns:
        ``{"success_rate", "spl", "invalid_action_rate", "mean_steps",
        "decision_latency_ms_p50", "episodes", "per_difficulty"}``. ``invalid_action_rate`` is
        the share of actions the environment rejected (unparseable, naming nothing, or failing
        their preconditions, and ``done`` before the task is complete).
    """
    from tqdm.auto import tqdm

    from embodied_collab.sim.config_planning import PlanningConfig
    from embodied_collab.sim.oracle import oracle_path_length
    from embodied_collab.sim.planning_env import HouseholdPlanEnv
    from embodied_collab.sim.planning_episode import prepared_world

    tasks = list(tasks)
    env = HouseholdPlanEnv(planning_config or PlanningConfig(), suite=tasks)
    records = []
    latencies: list[float] = []
    t_start = time.monotonic()
    for i in tqdm(range(len(tasks)), desc=desc, disable=not progress, leave=False):
        if time_budget_s is not None and records and time.monotonic() - t_start > time_budget_s:
            logger.warning("%s: time budget spent after %d of %d episodes", desc, len(records),
                           len(tasks))
            break
        obs, info = env.reset(seed=i, options={"task_index": i})
        task = tasks[i]
        pristine, _ = prepared_world(task)
        best = oracle_path_length(pristine, task)
        steps = rejected = 0
        done = aborted = False
        while not done:
            if time_budget_s is not None and time.monotonic() - t_start > time_budget_s:
                aborted = True
                break
            t0 = time.perf_counter()
            action = agent(env, obs, info)
            latencies.append(time.perf_counter() - t0)
            obs, _, terminated, truncated, info = env.step(action)
            steps += 1
            rejected += int(not info["action_ok"])
            done = terminated or truncated
        if aborted:
            logger.warning("%s: time budget spent after %d of %d episodes", desc, len(records),
                           len(tasks))
            break
        success = bool(info["is_success"])
        length = float(info["total_path_length"])
        spl = float(success) * (best / max(length, best) if max(length, best) > 0 else 1.0)
        records.append({"task_id": task.id, "difficulty": task.difficulty, "success": success,
                        "spl": spl, "steps": steps, "rejected": rejected})
    out = _aggregate(records, latencies)
    by_diff: dict[str, Any] = {}
    for d in sorted({str(r["difficulty"]) for r in records}):
        by_diff[d] = _aggregate([r for r in records if str(r["difficulty"]) == d], [])
        by_diff[d].pop("decision_latency_ms_p50")
    out["per_difficulty"] = by_diff
    return out


def _aggregate(records: list[dict[str, Any]], latencies: list[float]) -> dict[str, Any]:
    if not records:
        return {"success_rate": 0.0, "spl": 0.0, "invalid_action_rate": 0.0, "mean_steps": 0.0,
                "decision_latency_ms_p50": None, "episodes": 0}
    steps = sum(r["steps"] for r in records)
    return {
        "success_rate": round(float(np.mean([r["success"] for r in records])), 4),
        "spl": round(float(np.mean([r["spl"] for r in records])), 4),
        "invalid_action_rate": round(sum(r["rejected"] for r in records) / max(steps, 1), 4),
        "mean_steps": round(steps / max(len(records), 1), 3),
        "decision_latency_ms_p50": round(float(np.median(latencies)) * 1000, 3)
        if latencies else None,
        "episodes": len(records),
    }
