"""Mission benchmark: generated missions under link outages of 0, 5, 30 and 120 s.

Each mission runs on the simulated robot with the real local LLM server behind the fault
proxy; its outage (a blackhole: no answer, no RST) starts when the mission starts. Outage
lengths are in **mission seconds** (:class:`MissionClock`): the robot's actions count at their
simulated duration (the robot runs ``time_scale`` times faster than real time), everything
else (cloud calls, local decisions, detecting the outage) at its real wall time, which is not
scaled. So a mission whose cloud call takes 20 s has spent 20 mission seconds on it, and a
120 s outage covers the whole of a typical mission (a "full outage"; each row says whether
it did).

The link behaviour is what is measured, so the robot is the executive's cheapest honest one:
navigation follows the occupancy-grid path and objects enter the scene graph from the
simulator's ground-truth visibility (``ExecutiveConfig`` defaults; the camera and the control
loop are benchmarked by their own components and used by the demo).
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


class MissionClock:
    """Mission seconds since :meth:`start`: wall time, except that a robot action counts at its
    simulated duration (see the module docstring). Thread-safe."""

    def __init__(self, time_scale: float) -> None:
        self.time_scale = time_scale
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._gain = 0.0  # simulated minus wall seconds of the finished actions
        self._action_t0: float | None = None

    def start(self) -> None:
        """Mission second 0 is now."""
        with self._lock:
            self._t0, self._gain, self._action_t0 = time.monotonic(), 0.0, None

    def begin_action(self) -> None:
        with self._lock:
            self._action_t0 = time.monotonic()

    def end_action(self, sim_s: float | None) -> None:
        """An action ended; ``sim_s`` its simulated duration (None: count k x its wall time)."""
        with self._lock:
            if self._action_t0 is None:
                return
            wall = time.monotonic() - self._action_t0
            sim = wall * self.time_scale if sim_s is None else sim_s
            self._gain += sim - wall
            self._action_t0 = None

    def now(self) -> float:
        with self._lock:
            t = time.monotonic()
            gain = self._gain
            if self._action_t0 is not None:  # the action in progress, at the robot's rate
                gain += (t - self._action_t0) * (self.time_scale - 1.0)
            return t - self._t0 + gain


class ClockedRobot:
    """A robot whose actions advance a :class:`MissionClock` (everything else is delegated)."""

    def __init__(self, robot: Any, clock: MissionClock) -> None:
        self._robot = robot
        self._clock = clock

    def execute(self, action: str, cancel: threading.Event | None = None) -> Any:
        self._clock.begin_action()
        out = None
        try:
            out = self._robot.execute(action, cancel)
            return out
        finally:
            self._clock.end_action(getattr(out, "duration_s", None))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._robot, name)


def run_missions_bench(n: int = 4, *, outages: tuple[float, ...] = OUTAGES_S,
                       difficulty: str = "mixed", seed: int = 0, time_scale: float = 10.0,
                       base_url: str | None = None, local_policy: Any = None,
                       progress: Callable[[str], None] | None = None,
                       mission_timeout_s: float = 300.0, decision_timeout_s: float = 60.0,
                       server_threads: int = 1, warmup: bool = True) -> dict[str, Any]:
    """Run ``n`` missions per outage length; returns the JSON-ready results.

    Args:
        n: missions per outage length (the same ``n`` tasks at every length).
        outages: outage lengths in mission seconds (see the module docstring).
        difficulty: task difficulty (``mixed`` cycles through all).
        seed: first world seed.
        time_scale: simulated seconds per wall second of the robot's actions.
        base_url: an OpenAI-compatible server (loopback) to use instead of starting the
            embedded one.
        local_policy: the on-board planner (default: the committed SLM).
        progress: called with a short line per mission.
        mission_timeout_s: wall-clock bound per mission (then it is cancelled).
        decision_timeout_s: deadline of one routed decision (the cloud call with its retries);
            the executive's default is 20 s, which the 0.5B model on a loaded 2-core machine
            misses, so every cloud call would fall back and "online" would not use the cloud.
        server_threads: CPU threads of the embedded server (1 is fastest on a busy machine).
        warmup: send one plan request before the first mission so the server's prompt cache
            holds the fixed system prompt and examples (as the demo does); not counted.

    Raises:
        ValueError: ``n`` < 1, no outages or a negative one, or a bad setting.
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
    from embodied_collab.sim.generate import generate_task

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not outages or any(o < 0 for o in outages):
        raise ValueError(f"outages must be one or more lengths >= 0, got {outages}")
    if difficulty != "mixed" and difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be 'mixed' or one of {DIFFICULTIES}, "
                         f"got {difficulty!r}")
    say = progress or (lambda _m: None)
    diffs = list(DIFFICULTIES) if difficulty == "mixed" else [difficulty]
    tasks = [generate_task(seed + i, diffs[i % len(diffs)]) for i in range(n)]
    policy = local_policy or LocalDecider().policy
    cfg_cloud = CloudConfig(local_n_threads=server_threads, deadline_s=decision_timeout_s)
    server = None
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ec-missions-") as tmp:
        try:
            if base_url is None:
                server = LocalServer(cfg_cloud, log_path=Path(tmp) / "server.log").start()
                upstream = ("127.0.0.1", server.port)
            else:
                from urllib.parse import urlsplit

                parts = urlsplit(base_url)
                upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
            proxy = FaultProxy(upstream).start()
            cfg = ExecutiveConfig(journal_path=str(Path(tmp) / "journal.sqlite"),
                                  time_scale=time_scale, decision_timeout_s=decision_timeout_s)
            monitor, cloud, router = make_router(
                proxy.url + "/v1", link_config=LinkConfig(probe_timeout_s=1.0),
                cloud_config=cfg_cloud, local_policy=policy)
            journal = Journal(cfg.journal_path)
            clock = MissionClock(time_scale)
            make_robot = sim_robot_factory(cfg)
            ex = Executive(cfg, router=router, journal=journal, monitor=monitor,
                           robot_factory=lambda m: ClockedRobot(make_robot(m), clock))
            rows = []
            warm_s = None
            try:
                if warmup:
                    warm_s = _warm_up(cloud, monitor, tasks[0], make_robot, decision_timeout_s)
                    say(f"warm-up plan request: {warm_s:.1f} s")
                for outage in outages:
                    for task in tasks:
                        monitor.wait_for(LinkState.UP, 15.0)
                        rows.append(_one(ex, proxy, task, outage, clock, mission_timeout_s,
                                         task_payload))
                        r = rows[-1]
                        say(f"outage {outage:g}s {task.id}: {r['state']} in {r['wall_s']:.0f} s "
                            f"wall / {r['mission_s']:.0f} mission s, cloud={r['cloud']} "
                            f"local={r['local']} cloud_calls={r['cloud_calls']}")
            finally:
                ex.stop()
                monitor.stop()
                proxy.stop()
            lost = len(journal.unfinished())
            journal.close()
        finally:
            if server is not None:
                server.stop()
    return summarize(rows, outages, lost, n=n, difficulty=difficulty, seed=seed,
                     time_scale=time_scale, decision_timeout_s=decision_timeout_s,
                     server_threads=server_threads if base_url is None else None,
                     warmup_s=warm_s, navigation=cfg.navigation, perception=cfg.perception,
                     wall_s=time.monotonic() - t_start)


def summarize(rows: list[dict[str, Any]], outages: tuple[float, ...], lost: int,
              **settings: Any) -> dict[str, Any]:
    """The benchmark's JSON from its per-mission rows (pure; ``settings`` are echoed)."""
    by = {}
    for outage in outages:
        sel = [r for r in rows if r["outage_s"] == outage]
        by[f"{outage:g}"] = round(sum(r["success"] for r in sel) / len(sel), 3) if sel else None
    online = by.get(f"{min(outages):g}") if min(outages) == 0 else None
    full = by.get(f"{max(outages):g}")
    longest = [r for r in rows if r["outage_s"] == max(outages)]
    wall = settings.pop("wall_s", None)
    return {
        "mission_success_by_outage_s": by,
        "cloud_calls_per_mission": (round(sum(r["cloud_calls"] for r in rows) / len(rows), 3)
                                    if rows else None),
        "lost_commands": lost,
        "full_outage_vs_online": (round(full / online, 3)
                                  if online and full is not None and max(outages) > 0 else None),
        "longest_outage_covered_missions": sum(r["outage_covered_mission"] for r in longest),
        "decisions": {"cloud": sum(r["cloud"] for r in rows),
                      "local": sum(r["local"] for r in rows)},
        "cloud_calls_per_mission_by_outage_s": {
            f"{o:g}": round(sum(r["cloud_calls"] for r in rows if r["outage_s"] == o)
                            / max(1, sum(1 for r in rows if r["outage_s"] == o)), 3)
            for o in outages},
        "n_per_outage": settings.pop("n", None),
        **settings,
        "wall_s": None if wall is None else round(wall, 1),
        "missions": rows,
    }


def _warm_up(cloud: Any, monitor: Any, task: Any, make_robot: Any, timeout_s: float) -> float:
    """One plan request for ``task`` straight to the cloud backend (fills the prompt cache)."""
    from embodied_collab.executive.executive import task_payload
    from embodied_collab.executive.mission import Mission
    from embodied_collab.link import LinkState
    from embodied_collab.link.retry import Deadline
    from embodied_collab.link.router import PlanRequest

    monitor.wait_for(LinkState.UP, 15.0)
    robot = make_robot(Mission("warmup", task.instruction, 0.0, payload=task_payload(task)))
    t0 = time.monotonic()
    try:
        cloud.backend.plan(PlanRequest("warmup", task.instruction, context={"robot": robot}),
                           Deadline(max(timeout_s, 120.0)))
    except Exception as exc:  # the missions then show what the cloud does; say why here
        logger.warning("warm-up request failed: %s", exc)
    return time.monotonic() - t0


def _one(ex: Any, proxy: Any, task: Any, outage: float, clock: MissionClock,
         timeout_s: float, task_payload: Any) -> dict[str, Any]:
    mission = ex.submit(task.instruction, payload=task_payload(task))
    stop = threading.Event()
    held = {"until_mission_s": None}

    def hold() -> None:
        # the outage ends when the mission clock reaches its length (or the mission ends)
        while not stop.is_set() and clock.now() < outage:
            stop.wait(0.02)
        proxy.set_fault("pass")
        held["until_mission_s"] = clock.now()

    clock.start()
    if outage > 0:
        proxy.set_fault("blackhole")
    th = threading.Thread(target=hold, daemon=True)
    th.start()
    t0 = time.monotonic()
    timer = threading.Timer(timeout_s, lambda: ex.cancel(mission.command_id, kind="cancel",
                                                         reason="benchmark timeout"))
    timer.start()
    try:
        ex.run_next()
    finally:
        end_mission_s = clock.now()
        timer.cancel()
        stop.set()
        th.join(5.0)
        proxy.set_fault("pass")
    counts = mission.counts()
    return {"task": task.id, "difficulty": task.difficulty, "outage_s": outage,
            "state": mission.state, "reason": mission.reason,
            "success": mission.state == "done", "wall_s": round(time.monotonic() - t0, 2),
            "mission_s": round(end_mission_s, 2),
            "outage_covered_mission": outage > 0 and end_mission_s <= outage,
            "cloud": counts["cloud"], "local": counts["local"],
            "cloud_calls": counts["cloud_calls"], "actions": len(mission.actions),
            "decisions": [{"served_by": d.served_by, "action": d.action,
                           "latency_s": round(d.latency_s, 2), "cloud_call": d.cloud_call,
                           "link": d.link, "reason": d.reason[:160]}
                          for d in mission.decisions]}
