"""The mission report: map with the robot's path, timeline of link state and of which model
served each decision, per-stage latencies, the journal dump, and the human summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_LINK_Y = {"up": 2, "degraded": 1, "down": 0}


def journal_dump(journal: Any) -> dict[str, Any]:
    """Every command with its transitions, and the outbox (synced or not)."""
    cmds = []
    for rec in journal.commands():
        cmds.append({
            "id": rec.id, "text": rec.text, "state": rec.state.value, "reason": rec.reason,
            "payload_keys": sorted(rec.payload),
            "history": [{"from": t.from_state.value if t.from_state else None,
                         "to": t.to_state.value, "reason": t.reason, "at": t.at}
                        for t in journal.history(rec.id)],
        })
    return {"commands": cmds, "counts": journal.counts(),
            "outbox_pending": len(journal.outbox_pending())}


def stage_latencies(mission: Any, speech: dict[str, float] | None = None) -> dict[str, Any]:
    """Seconds per stage: speech (ASR, grounding), routing + planning per model, execution."""
    cloud = [d.latency_s for d in mission.decisions if d.served_by == "cloud" and d.cloud_call]
    reused = [d.latency_s for d in mission.decisions
              if d.served_by == "cloud" and not d.cloud_call]
    local = [d.latency_s for d in mission.decisions if d.served_by == "local"]

    def stats(xs: list[float]) -> dict[str, float] | None:
        if not xs:
            return None
        xs = sorted(xs)
        return {"n": len(xs), "mean_s": round(sum(xs) / len(xs), 4),
                "max_s": round(xs[-1], 4), "p50_s": round(xs[len(xs) // 2], 4)}

    return {
        "speech": {k: round(v, 4) for k, v in (speech or {}).items()},
        "cloud_planning": stats(cloud),
        "cloud_plan_continued": stats(reused),
        "local_planning": stats(local),
        "execution": stats([a.get("wall_s", 0.0) for a in mission.actions]),
        "execution_sim_s": round(sum(a.get("duration_s", 0.0) for a in mission.actions), 3),
    }


def save_map(robot: Any, path: Path, title: str) -> Path:
    """Top-down map of the final world with the path the robot drove."""
    from embodied_collab.sim.render import render_topdown, save_png

    img = render_topdown(robot.world, trail=robot.trail, title=title[:90])
    return save_png(img, path)


def save_timeline(timeline: list[tuple[float, str]], mission: Any, outages: list[dict],
                  end: float, path: Path) -> Path:
    """Link state over time, injected outages, and each decision coloured by its model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    if timeline:
        xs = [t for t, _ in timeline] + [end]
        ys = [_LINK_Y.get(s, 0) for _, s in timeline]
        ax.step(xs, ys + [ys[-1]], where="post", color="black", label="link state")
    for o in outages:
        ax.axvspan(o["start_wall"], o["end_wall"], color="red", alpha=0.15)
    for d in mission.decisions:
        colour = "tab:blue" if d.served_by == "cloud" else "tab:orange"
        marker = "o" if d.cloud_call or d.served_by == "local" else "."
        ax.plot([d.at], [2.6 if d.served_by == "cloud" else -0.6], marker, color=colour)
    ax.set_yticks([-0.6, 0, 1, 2, 2.6], ["local decision", "down", "degraded", "up",
                                          "cloud decision"])
    ax.set_xlabel("seconds since start (red: injected outage)")
    ax.set_xlim(0, max(end, 1.0))
    ax.set_ylim(-1.0, 3.0)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_json(obj: Any, path: Path) -> Path:
    path.write_text(json.dumps(obj, indent=1, default=str) + "\n")
    return path


def summary_text(result: dict[str, Any], mission: Any, report_dir: Path) -> str:
    """The human summary printed by the demo."""
    lines = [
        f"command:   {mission.text!r} ({mission.command_id})",
        f"outcome:   {mission.state} - {mission.reason}",
        f"duration:  {result['duration_s']:.1f} s, {len(mission.actions)} actions",
        f"decisions: {result['decisions']['cloud']} by the cloud LLM "
        f"({result['cloud_calls']} calls), {result['decisions']['local']} by the on-board SLM",
        f"outages:   {len(result['outages'])} injected; lost commands: "
        f"{result['lost_commands']}",
        f"report:    {report_dir}",
    ]
    for a in mission.actions:
        lines.append(f"  {a['at']:7.1f}s  [{a['served_by']:5}] {a['action']:<28} "
                     f"{'ok' if a['ok'] else 'FAILED'}  {a['message']}")
    return "\n".join(lines)
