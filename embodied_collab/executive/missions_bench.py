"""Mission benchmark: generated missions under link outages of 0, 5, 30 and 120 s.

Each mission runs on the simulated robot with the real local LLM server behind the fault
proxy; its outage starts when the mission starts. Outage lengths are mission (simulated)
seconds: with ``time_scale`` k the robot drives k times faster than real time and an outage of
D s is held for D / k wall seconds, so a 120 s outage covers the whole of a typical mission (a
"full outage"). The cloud LLM's own latency is not scaled.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embodied_collab.executive.config_executive import ExecutiveConfig

logger = logging.getLogger(__name__)

OUTAGES_S: tuple[float, ...] = (0.0, 5.0, 30.0, 120.0)


def run_missions_bench(n: int = 4, *, outages: tuple[float, ...] = OUTAGES_S,
                       difficulty: str = "mixed", seed: int = 0, time_scale: float = 10.0,
                       base_url: str | None = None, local_policy: Any = None,
                       progress: Callable[[str], None] | None = None,
                       mission_timeout_s: float = 240.0) -> dict[str, Any]:
    """Run ``n`` missions per outage length; returns the JSON-ready results.

    Args:
        n: missions per outage length (the same ``n`` tasks at every length).
        outages: outage lengths in mission seconds.
        difficulty: task difficulty (``mixed`` cycles through all).
        seed: first world seed.
        time_scale: simulated seconds per wall second (see the module docstring).
        base_url: an OpenAI-compatible server to use instead of starting the embedded one.
        local_policy: the on-board planner (default: the committed SLM).
        progress: called with a short line per mission.
        mission_timeout_s: wall-clock bound per mission (then it is cancelled).

    Raises:
        ValueError: ``n`` < 1 or a negative outage.
    """
    from embodied_collab.cloud.config_cloud import CloudConfig
    from embodied_collab.cloud.server import LocalServer
    from embodied_collab.executive.decisions import LocalDecider
    from embodied_collab.executive.executive import (
        Executive,
        make_router,
        sim_robot_factory,
        task_payload,
    )
    from embodied_collab.link import LinkConfig, LinkState
    from embodied_collab.link.faults import FaultProxy
    from embodied_collab.link.journal import Journal
    from embodied_collab.sim.catalog import DIFFICULTIES

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if any(o < 0 for o in outages):
        raise ValueError(f"outages must be >= 0, got {outages}")
    say = progress or (lambda _m: None)
    diffs = list(DIFFICULTIES) if difficulty == "mixed" else [difficulty]
    from embodied_collab.sim.generate import generate_task

    tasks = [generate_task(seed + i, diffs[i % len(diffs)]) for i in range(n)]
    policy = local_policy or LocalDecider().policy
    server = None
    with tempfile.TemporaryDirectory(prefix="ec-missions-") as tmp:
        try:
            if base_url is None:
                server = LocalServer(CloudConfig(), log_path=Path(tmp) / "server.log").start()
                upstream = ("127.0.0.1", server.port)
            else:
                from urllib.parse import urlsplit

                parts = urlsplit(base_url)
                upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
            proxy = FaultProxy(upstream).start()
            cfg = ExecutiveConfig(journal_path=str(Path(tmp) / "journal.sqlite"),
                                  time_scale=time_scale)
            monitor, cloud, router = make_router(
                proxy.url + "/v1", link_config=LinkConfig(probe_timeout_s=1.0),
                local_policy=policy)
            journal = Journal(cfg.journal_path)
            ex = Executive(cfg, router=router, journal=journal, monitor=monitor,
                           robot_factory=sim_robot_factory(cfg))
            rows = []
            try:
                for outage in outages:
                    for task in tasks:
                        monitor.wait_for(LinkState.UP, 15.0)
                        rows.append(_one(ex, proxy, task, outage, cfg, mission_timeout_s,
                                         task_payload))
                        say(f"outage {outage:.0f}s {task.id}: {rows[-1]['state']} "
                            f"cloud={rows[-1]['cloud']} local={rows[-1]['local']}")
            finally:
                ex.stop()
                monitor.stop()
                proxy.stop()
            lost = len(journal.unfinished())
            journal.close()
        finally:
            if server is not None:
                server.stop()
    by = {}
    for outage in outages:
        sel = [r for r in rows if r["outage_s"] == outage]
        by[f"{outage:g}"] = round(sum(r["success"] for r in sel) / len(sel), 3)
    online = by.get("0")
    full = by.get(f"{max(outages):g}")
    return {
        "mission_success_by_outage_s": by,
        "cloud_calls_per_mission": round(sum(r["cloud_calls"] for r in rows) / len(rows), 3),
        "lost_commands": lost,
        "full_outage_vs_online": (round(full / online, 3) if online else None),
        "decisions": {"cloud": sum(r["cloud"] for r in rows),
                      "local": sum(r["local"] for r in rows)},
        "n_per_outage": n, "difficulty": difficulty, "time_scale": time_scale, "seed": seed,
        "missions": rows,
    }


def _one(ex: Any, proxy: Any, task: Any, outage: float, cfg: ExecutiveConfig,
         timeout_s: float, task_payload: Any) -> dict[str, Any]:
    mission = ex.submit(task.instruction, payload=task_payload(task))
    stop = threading.Event()

    def hold() -> None:
        if outage <= 0:
            return
        proxy.set_fault("blackhole")
        stop.wait(outage / cfg.time_scale)
        proxy.set_fault("pass")

    th = threading.Thread(target=hold, daemon=True)
    th.start()
    t0 = time.monotonic()
    timer = threading.Timer(timeout_s, lambda: ex.cancel(mission.command_id, kind="cancel",
                                                         reason="benchmark timeout"))
    timer.start()
    try:
        ex.run_next()
    finally:
        timer.cancel()
        stop.set()
        th.join(5.0)
    counts = mission.counts()
    return {"task": task.id, "difficulty": task.difficulty, "outage_s": outage,
            "state": mission.state, "reason": mission.reason,
            "success": mission.state == "done", "wall_s": round(time.monotonic() - t0, 2),
            "cloud": counts["cloud"], "local": counts["local"],
            "cloud_calls": counts["cloud_calls"], "actions": len(mission.actions)}
