"""Side-by-side benchmark of planning policies per difficulty on held-out layouts.

Runs the oracle, a random policy, the SB3 MLP-PPO baseline, the LLM teacher (the embedded local
model, or any endpoint) and the planner SLM on the same generated suites (worlds outside the
training seed range), and writes a markdown table and a bar plot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embodied_collab.errors import EmbodiedCollabError

logger = logging.getLogger(__name__)

BENCH_SEED = 777
BASELINES = ("oracle", "random", "mlp-ppo", "llm", "slm")


def bench_planner(*, episodes: int = 50, llm_episodes: int = 6, llm_budget_s: float = 600.0,
                  seed: int = BENCH_SEED,
                  policies: tuple[str, ...] = BASELINES, llm_url: str | None = None,
                  slm_path: str | None = None, progress: bool = False,
                  start_server: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Evaluate ``policies`` on one held-out suite per difficulty.

    Args:
        episodes: tasks per difficulty for every policy but the LLM.
        llm_episodes: tasks per difficulty for the LLM (each decision is a server round trip).
        llm_budget_s: wall-time bound of the LLM's runs (per difficulty); fewer episodes may
            run, and the table says how many did.
        llm_url: endpoint of the LLM; ``None`` starts the embedded local server.

    Returns:
        ``{"results": {policy: {difficulty: metrics, "all": metrics}}, "notes": [...]}``.
    """
    import torch

    from embodied_collab.planner.evaluate import evaluate, make_agent
    from embodied_collab.planner.train import heldout_suite
    from embodied_collab.sim.catalog import DIFFICULTIES

    torch.set_num_threads(1)
    suites = {d: heldout_suite(episodes, d, seed + k) for k, d in enumerate(DIFFICULTIES)}
    results: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    server = None
    try:
        for name in policies:
            kwargs: dict[str, Any] = {}
            n = episodes
            if name == "llm":
                n = min(llm_episodes, episodes)
                url = llm_url
                if url is None:
                    try:
                        from embodied_collab.cloud.server import LocalServer

                        server = (start_server or (lambda: LocalServer().start()))()
                        url = server.base_url
                    except (EmbodiedCollabError, OSError) as exc:
                        notes.append(f"llm skipped: the local LLM server could not start ({exc})")
                        continue
                kwargs["llm_url"] = url
            label = name
            if name == "slm" and slm_path:
                name = slm_path
            try:
                agent_factory = lambda n=name, kw=kwargs: make_agent(n, **kw)  # noqa: E731
                agent_factory()
            except EmbodiedCollabError as exc:
                notes.append(f"{label} skipped: {exc}")
                continue
            per: dict[str, Any] = {}
            budget = llm_budget_s if label == "llm" else None
            for d, suite in suites.items():
                per[d] = evaluate(suite.tasks[:n], agent_factory(), progress=progress,
                                  desc=f"{label} {d}", time_budget_s=budget)
                per.setdefault("_records", []).append(per[d].pop("per_difficulty", None))
            per.pop("_records")
            per["all"] = _pool([per[d] for d in suites])
            results[label] = per
            logger.info("%s: %s", label, per["all"])
    finally:
        if server is not None:
            server.stop()
    return {"results": results, "notes": notes, "seed": seed, "episodes": episodes,
            "llm_episodes": llm_episodes}


def _pool(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Episode-weighted totals of per-difficulty metrics (latency: median of the medians)."""
    import numpy as np

    n = sum(p["episodes"] for p in parts)
    w = [p["episodes"] / max(n, 1) for p in parts]
    steps = [p["mean_steps"] * p["episodes"] for p in parts]
    lat = [p["decision_latency_ms_p50"] for p in parts if p.get("decision_latency_ms_p50")]
    return {
        "success_rate": round(sum(p["success_rate"] * x for p, x in zip(parts, w, strict=True)),
                              4),
        "spl": round(sum(p["spl"] * x for p, x in zip(parts, w, strict=True)), 4),
        "invalid_action_rate": round(
            sum(p["invalid_action_rate"] * s for p, s in zip(parts, steps, strict=True))
            / max(sum(steps), 1), 4),
        "mean_steps": round(sum(steps) / max(n, 1), 3),
        "decision_latency_ms_p50": round(float(np.median(lat)), 3) if lat else None,
        "episodes": n,
    }


def markdown_table(report: dict[str, Any]) -> str:
    """The comparison as a markdown table (one row per policy and difficulty)."""
    lines = [
        "| policy | difficulty | episodes | success | SPL | invalid-action rate | mean steps "
        "| decision latency p50 (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for policy, per in report["results"].items():
        for diff, m in per.items():
            lat = m.get("decision_latency_ms_p50")
            lines.append(
                f"| {policy} | {diff} | {m['episodes']} | {m['success_rate']:.3f} | "
                f"{m['spl']:.3f} | {m['invalid_action_rate']:.3f} | {m['mean_steps']:.2f} | "
                f"{'' if lat is None else f'{lat:.2f}'} |"
            )
    for note in report.get("notes", []):
        lines.append(f"\nNote: {note}")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: str | Path) -> None:
    """Grouped bars of success rate and SPL per difficulty for each policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    policies = list(report["results"])
    diffs = [d for d in next(iter(report["results"].values()), {}) if d != "all"] + ["all"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    width = 0.8 / max(len(policies), 1)
    x = np.arange(len(diffs))
    for metric, ax in zip(("success_rate", "spl"), axes, strict=True):
        for k, p in enumerate(policies):
            vals = [report["results"][p].get(d, {}).get(metric, 0.0) for d in diffs]
            ax.bar(x + k * width, vals, width, label=p)
        ax.set_xticks(x + width * (len(policies) - 1) / 2, diffs)
        ax.set(title=metric.replace("_", " "), ylim=(0, 1.05))
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
