"""Benchmark of the cloud LLM component: plan validity, plan success, latency, tokens, privacy.

Instructions come from generated tasks of every difficulty; each plan is validated, repaired
if needed, mapped to high-level actions and executed in the planning environment, whose task
predicate decides success. The privacy filter is scored on generated commands with labelled
personal data.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np

from embodied_collab.cloud.config_cloud import CloudConfig
from embodied_collab.cloud.execute import plan_to_actions
from embodied_collab.cloud.pii_data import generate_commands, score
from embodied_collab.cloud.privacy import PrivacyFilter
from embodied_collab.errors import EmbodiedCollabError, InvalidActionError
from embodied_collab.sim.tasks import Task

logger = logging.getLogger(__name__)


def execute_plan(plan: list[dict[str, Any]], task: Task, env: Any = None) -> bool:
    """Run a validated plan in the planning environment; whether the task succeeded.

    Args:
        plan: validated steps (``[{"skill", "args"}]``).
        task: the task (instruction, world, success predicate).
        env: a :class:`~embodied_collab.sim.planning_env.HouseholdPlanEnv` to reuse.

    Returns:
        ``info["is_success"]`` after ``done`` (False if the episode ended otherwise).
    """
    from embodied_collab.sim.planning_env import HouseholdPlanEnv

    env = env or HouseholdPlanEnv()
    env.reset(options={"task": task})
    try:
        actions = plan_to_actions(plan, task.world())
    except InvalidActionError as exc:
        logger.info("task %s: plan not executable: %s", task.id, exc)
        return False
    info: dict[str, Any] = {}
    for action in actions:
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    return bool(info.get("is_success", False))


def bench_pii(n: int = 1000, seed: int = 0) -> dict[str, float]:
    """Recall and precision of the privacy filter on ``n`` generated labelled commands."""
    return score(PrivacyFilter(), generate_commands(n, seed))


def bench_cloud(
    n: int = 40,
    *,
    seed: int = 0,
    cfg: CloudConfig | None = None,
    n_pii: int = 1000,
    progress: bool = True,
) -> dict[str, Any]:
    """Plan ``n`` generated tasks (all difficulties) with the cloud LLM and score the plans.

    Args:
        n: number of tasks (cycled over the difficulties).
        seed: suite seed.
        cfg: component config; ``cfg.base_url=None`` starts the embedded local server.
        n_pii: number of generated commands for the privacy score.
        progress: tqdm progress bar on stderr.

    Returns:
        The benchmark's JSON (see ``docs/benchmarks/cloud.md``).
    """
    from tqdm import tqdm

    from embodied_collab.cloud.client import ChatClient
    from embodied_collab.cloud.decompose import Decomposer
    from embodied_collab.cloud.server import LocalServer
    from embodied_collab.sim.generate import generate_suite

    cfg = cfg or CloudConfig()
    suite = generate_suite(n, "mixed", seed)
    server = LocalServer(cfg) if cfg.base_url is None else None
    rows = []
    try:
        if server is not None:
            server.start()
        client = ChatClient(cfg, base_url=server.base_url if server else None)
        dec = Decomposer(client, cfg)
        from embodied_collab.sim.planning_env import HouseholdPlanEnv

        env = HouseholdPlanEnv()
        for task in tqdm(suite.tasks, desc="bench cloud", file=sys.stderr, disable=not progress):
            world = task.world()
            row = {
                "difficulty": task.difficulty,
                "first_valid": False,
                "valid": False,
                "success": False,
                "latency_s": None,
                "tokens": None,
                "error": None,
            }
            try:
                res = dec.decompose(task.instruction, world, raise_on_invalid=False)
                row.update(
                    first_valid=res.first_valid,
                    valid=res.valid,
                    latency_s=res.latency_s,
                    tokens=res.prompt_tokens + res.completion_tokens,
                    completion_tokens=res.completion_tokens,
                )
                if res.valid:
                    row["success"] = execute_plan(res.plan, task, env)
            except EmbodiedCollabError as exc:
                row["error"] = f"{type(exc).__name__}: {exc}"
                logger.warning("task %s: %s", task.id, row["error"])
            rows.append(row)
    finally:
        if server is not None:
            server.stop()
    lat = [r["latency_s"] for r in rows if r["latency_s"] is not None]
    tok = [r["tokens"] for r in rows if r["tokens"] is not None]
    per_diff = {}
    for d in sorted({r["difficulty"] for r in rows}):
        rs = [r for r in rows if r["difficulty"] == d]
        per_diff[d] = {
            "n": len(rs),
            "valid_rate_after_repair": _mean([r["valid"] for r in rs]),
            "plan_success_rate": _mean([r["success"] for r in rs]),
        }
    out: dict[str, Any] = {
        "valid_rate": _mean([r["first_valid"] for r in rows]),
        "valid_rate_after_repair": _mean([r["valid"] for r in rows]),
        "plan_success_rate": _mean([r["success"] for r in rows]),
        "latency_s_p50": float(np.percentile(lat, 50)) if lat else None,
        "latency_s_p95": float(np.percentile(lat, 95)) if lat else None,
        "tokens_per_plan": float(np.mean(tok)) if tok else None,
        "completion_tokens_per_plan": _mean([r.get("completion_tokens", 0) for r in rows]),
    }
    out.update(bench_pii(n_pii, seed))
    out.update(
        n=len(rows),
        errors=sum(r["error"] is not None for r in rows),
        per_difficulty=per_diff,
        model=cfg.model,
        endpoint="embedded local server" if cfg.base_url is None else "user endpoint",
        repair_rounds=cfg.repair_rounds,
        response_format=cfg.effective_response_format,
    )
    return out


def _mean(xs: list) -> float:
    return round(float(np.mean([float(x) for x in xs])), 4) if xs else 0.0
