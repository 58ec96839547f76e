"""The link benchmark: >= 100 injected faults through the fault proxy in front of a real HTTP
server on loopback (the OpenAI-compatible stand-in), with commands flowing all the time.

Measured per fault: detection time (fault injected -> monitor says down), local decision time
(max(detection, submission) -> the router's local decision), and return time (fault cleared ->
first decision served by the cloud again). Every command goes through the durable journal; a
command that does not end in a terminal state (or never reached the journal) is lost.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from embodied_collab.link.backends import ChatClientBackend, http_probe
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.faults import FaultMode, FaultProxy
from embodied_collab.link.journal import CommandState, Journal, OutboxRecord
from embodied_collab.link.monitor import LinkMonitor, LinkState, LinkStatus
from embodied_collab.link.resilient import ResilientCloud
from embodied_collab.link.retry import Deadline
from embodied_collab.link.router import PlanRequest, PlanResult, RoutedResult, Router
from embodied_collab.link.standin import StandinServer
from embodied_collab.link.trace import command_context, new_command_id

logger = logging.getLogger(__name__)

#: Faults cycled through by the benchmark (delay = 5 s added to every answer).
BENCH_FAULTS: tuple[str, ...] = ("blackhole", "reset", "down", "corrupt", "delay")
#: Note put in the JSON when the missions were not run (``bench link --missions 0``).
MISSION_NOTE = (
    "mission_success_by_outage_s and cloud_calls_per_mission come from the missions run "
    "(bench link --missions N, or bench missions); not run here"
)


class StandinLocalPlanner:
    """Stand-in for the on-board planner SLM in the link benchmark: answers at once with a
    fixed plan and a fixed confidence (the real SLM is benchmarked by the planner component)."""

    def __init__(self, confidence: float = 0.9) -> None:
        self.confidence = confidence

    def plan(self, request: PlanRequest, deadline: Deadline) -> PlanResult:
        return PlanResult(plan=[f"navigate for {request.text}"], confidence=self.confidence)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


@dataclass
class _Record:
    command_id: str
    submitted: float
    decided: float = 0.0
    target: str = ""
    served_by: str | None = None


@dataclass
class _Timeline:
    states: list[tuple[float, str]] = field(default_factory=list)
    records: list[_Record] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def first_state_after(self, state: str, t: float) -> float | None:
        with self.lock:
            return next((ts for ts, s in self.states if s == state and ts >= t), None)


class LinkBench:
    """One benchmark run (see :func:`run_link_bench`)."""

    def __init__(self, config: LinkConfig, workdir: Path, seed: int) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.server = StandinServer(work_s=0.02).start()
        self.proxy = FaultProxy(("127.0.0.1", self.server.port), seed=seed).start()
        base = self.proxy.url + "/v1"
        from embodied_collab.cloud.client import ChatClient
        from embodied_collab.cloud.config_cloud import CloudConfig

        chat = ChatClient(CloudConfig(response_format="none", connect_timeout_s=1.0), base)
        self.monitor = LinkMonitor(config, http_probe(base))
        self.cloud = ResilientCloud(ChatClientBackend(chat), config, self.monitor)
        self.router = Router(config, self.cloud, StandinLocalPlanner())
        self.journal = Journal(workdir / "journal.sqlite")
        self.tl = _Timeline()
        self.sync_url = base + "/robot/outbox"
        self.synced = 0
        self._stop = threading.Event()
        self._return_work = threading.Event()
        self.monitor.add_listener(self._on_link)

    # -- callbacks and workers -----------------------------------------------------------------
    def _on_link(self, old: LinkState, status: LinkStatus) -> None:
        with self.tl.lock:
            self.tl.states.append((time.monotonic(), status.state.value))
        if old == LinkState.DOWN and status.state != LinkState.DOWN:
            self._return_work.set()  # queued commands and the outbox go up on another thread

    def _return_worker(self) -> None:
        while not self._stop.is_set():
            if not self._return_work.wait(0.1):
                continue
            self._return_work.clear()
            try:
                self.router.retry_queued(
                    self.config.call_timeout_s, on_result=self._journal_result
                )
                self.synced += self.journal.sync_outbox(self._send_outbox, self.config.sync_batch)
            except Exception:  # keep replaying on the next return; the count shows any loss
                logger.exception("return worker failed")

    def _send_outbox(self, records: list[OutboxRecord]) -> None:
        body = json.dumps({"records": [{"seq": r.seq, "kind": r.kind, **r.payload}
                                       for r in records]}).encode()
        req = urllib.request.Request(self.sync_url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=1.0) as resp:  # noqa: S310 - loopback only
            if resp.status != 200:
                raise ConnectionError(f"outbox sync: HTTP {resp.status}")

    def _journal_result(self, r: RoutedResult) -> None:
        cid = r.request.command_id
        with command_context(cid):
            rec = self.journal.get(cid)
            if rec is not None and rec.state == CommandState.QUEUED:
                if r.decision.target == "queue":
                    return  # still waiting for the cloud; stays queued
                self.journal.transition(cid, CommandState.PLANNING, "replayed after link return")
            if r.decision.target in ("cloud", "local") and r.result is not None:
                self.journal.transition(cid, CommandState.EXECUTING, f"plan from {r.served_by}")
                self.journal.transition(cid, CommandState.DONE, "plan delivered (bench)")
                if r.served_by == "local":
                    self.journal.outbox_add("offline_decision", {"command": cid}, cid)
            elif r.decision.target == "queue":
                self.journal.transition(cid, CommandState.QUEUED, r.decision.reason)
            else:
                self.journal.transition(cid, CommandState.FAILED, r.decision.reason)

    def _load(self, period_s: float) -> None:
        while not self._stop.is_set():
            hard = self.rng.random() < 0.2
            cid = new_command_id()
            rec = _Record(cid, time.monotonic())
            self.journal.accept(f"bench command {cid}", command_id=cid)
            self.journal.transition(cid, CommandState.PLANNING, "routing")
            req = PlanRequest(
                command_id=cid, text="bring the cup", difficulty="attributes" if hard else "fetch"
            )
            r = self.router.handle(req, Deadline(self.config.call_timeout_s))
            rec.decided, rec.target = time.monotonic(), r.decision.target
            rec.served_by = r.served_by
            with self.tl.lock:
                self.tl.records.append(rec)
            self._journal_result(r)
            self._stop.wait(period_s)

    # -- the fault cycles ----------------------------------------------------------------------
    def _wait_up(self, settle_s: float, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.monitor.state == LinkState.UP and self.cloud.available():
                time.sleep(settle_s)
                if self.monitor.state == LinkState.UP:
                    return True
            time.sleep(0.02)
        return False

    def _first_cloud_after(self, t: float, timeout_s: float) -> float | None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self.tl.lock:
                hit = next(
                    (r.decided for r in self.tl.records
                     if r.served_by == "cloud" and r.decided > t),
                    None,
                )
            if hit is not None:
                return hit
            time.sleep(0.02)
        return None

    def run(
        self,
        faults: int,
        hold_s: tuple[float, float],
        long_outages: tuple[float, ...],
        period_s: float,
        progress: Callable[[str], None] | None,
    ) -> dict:
        self.monitor.start()
        threads = [
            threading.Thread(target=self._load, args=(period_s,), daemon=True),
            threading.Thread(target=self._return_worker, daemon=True),
        ]
        for t in threads:
            t.start()
        plan = [(BENCH_FAULTS[i % len(BENCH_FAULTS)], self.rng.uniform(*hold_s))
                for i in range(faults)]
        plan += [("blackhole" if i % 2 == 0 else "down", d) for i, d in enumerate(long_outages)]
        cycles = []
        try:
            for i, (mode, hold) in enumerate(plan):
                if not self._wait_up(0.3, 10.0):
                    logger.warning("link did not come back up before fault %d", i)
                state_at_inject = self.monitor.state.value
                t_inject = time.monotonic()
                if mode == "delay":
                    self.proxy.set_fault(FaultMode.DELAY, delay_s=5.0)
                else:
                    self.proxy.set_fault(mode)
                self.monitor.wait_for(LinkState.DOWN, 5.0)
                t_detect = self.tl.first_state_after("down", t_inject)
                time.sleep(max(0.0, t_inject + hold - time.monotonic()))
                t_clear = time.monotonic()
                self.proxy.clear()
                t_back = self._first_cloud_after(t_clear, 10.0)
                cycles.append({
                    "mode": mode, "hold_s": hold, "inject": t_inject, "clear": t_clear,
                    "state_at_inject": state_at_inject,
                    "detect_s": None if t_detect is None else t_detect - t_inject,
                    "detect_at": t_detect,
                    "return_s": None if t_back is None else t_back - t_clear,
                })
                if progress is not None and (i + 1) % 10 == 0:
                    progress(f"{i + 1}/{len(plan)} faults")
            self._wait_up(0.3, 10.0)
            # let the queue drain and the outbox sync (bounded)
            end = time.monotonic() + 15.0
            while time.monotonic() < end and (
                self.router.queued() or self.journal.outbox_pending(1)
            ):
                self._return_work.set()
                time.sleep(0.1)
        finally:
            self._stop.set()
            for t in threads:
                t.join(15.0)
            self.monitor.stop()
        return self._results(cycles, long_outages)

    def _results(self, cycles: list[dict], long_outages: tuple[float, ...]) -> dict:
        detect = [c["detect_s"] for c in cycles if c["detect_s"] is not None]
        ret = [c["return_s"] for c in cycles if c["return_s"] is not None]
        fallback = []
        with self.tl.lock:
            records = list(self.tl.records)
        for c in cycles:
            if c["detect_at"] is None:
                continue
            for r in records:
                if r.served_by == "local" and c["inject"] <= r.decided <= c["clear"] + 0.5:
                    fallback.append(max(0.0, r.decided - max(r.submitted, c["detect_at"])))
        journaled = {r.id: r for r in self.journal.commands()}
        lost = sum(1 for r in records if r.command_id not in journaled)
        lost += sum(1 for r in journaled.values() if not r.terminal)
        with self.server.lock:
            server_outbox = len(self.server.outbox)
        by_mode: dict[str, list[float]] = {}
        for c in cycles:
            if c["detect_s"] is not None:
                by_mode.setdefault(c["mode"], []).append(c["detect_s"])
        counts = self.journal.counts()
        refused = [r for r in journaled.values() if r.state == CommandState.FAILED]
        with self.tl.lock:
            downs = [t for t, s in self.tl.states if s == "down"]
        spurious = [t for t in downs
                    if not any(c["inject"] <= t <= c["clear"] + 2.0 for c in cycles)]
        return {
            "detect_s_p50": percentile(detect, 50),
            "detect_s_p95": percentile(detect, 95),
            "fallback_decision_s_p95": percentile(fallback, 95),
            "return_s_p95": percentile(ret, 95),
            "faults_injected": self.proxy.faults_injected,
            "lost_commands": lost,
            "mission_success_by_outage_s": None,
            "cloud_calls_per_mission": None,
            "note": MISSION_NOTE,
            "details": {
                "undetected_faults": sum(1 for c in cycles if c["detect_s"] is None),
                "undetected": [
                    {k: c[k] for k in ("mode", "hold_s", "state_at_inject")}
                    for c in cycles if c["detect_s"] is None
                ],
                "spurious_down_transitions": len(spurious),
                "refused_with_reason": len(refused),
                "refusal_reasons": sorted({r.reason.split(";")[-1].strip() for r in refused}),
                "not_returned_faults": sum(1 for c in cycles if c["return_s"] is None),
                "detect_s_max": max(detect) if detect else None,
                "return_s_p50": percentile(ret, 50),
                "return_s_max": max(ret) if ret else None,
                "fallback_decision_s_p50": percentile(fallback, 50),
                "fallback_decisions": len(fallback),
                "detect_s_p95_by_fault": {m: percentile(v, 95) for m, v in by_mode.items()},
                "long_outages_s": list(long_outages),
                "long_outage_return_s": [c["return_s"] for c in cycles[len(cycles)
                                         - len(long_outages):]] if long_outages else [],
                "commands": len(records),
                "served": {k: sum(1 for r in records if r.served_by == k)
                           for k in ("cloud", "local")},
                "queued_then_replayed": sum(1 for r in records if r.target == "queue"),
                "journal_states": counts,
                "outbox_synced": self.synced,
                "outbox_at_server": server_outbox,
                "outbox_pending": len(self.journal.outbox_pending()),
                "probe_interval_s": self.config.probe_interval_s,
                "probe_timeout_s": self.config.probe_timeout_s,
                "server": "link stand-in (OpenAI chat-completions over HTTP on 127.0.0.1)",
            },
        }

    def close(self) -> None:
        self.proxy.stop()
        self.server.stop()
        self.journal.close()


def merge_missions(link: dict, missions: dict) -> dict:
    """The link benchmark's JSON with the mission fields filled from a missions run
    (:func:`embodied_collab.executive.missions_bench.run_missions_bench`): success by outage
    length and cloud calls per mission; the missions' unfinished commands count as lost too,
    and the rest of the missions run goes under ``missions``."""
    out = dict(link)
    out["mission_success_by_outage_s"] = missions["mission_success_by_outage_s"]
    out["cloud_calls_per_mission"] = missions["cloud_calls_per_mission"]
    out["lost_commands"] = link["lost_commands"] + missions["lost_commands"]
    out.pop("note", None)
    out["missions"] = {k: v for k, v in missions.items()
                       if k not in ("mission_success_by_outage_s", "cloud_calls_per_mission")}
    out["details"] = {**link.get("details", {}), "lost_commands_faults": link["lost_commands"],
                      "lost_commands_missions": missions["lost_commands"]}
    return out


def run_link_bench(
    faults: int = 100,
    *,
    hold_s: tuple[float, float] = (0.5, 1.0),
    long_outages: tuple[float, ...] = (5.0, 30.0, 60.0),
    period_s: float = 0.05,
    seed: int = 0,
    config: LinkConfig | None = None,
    workdir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run the link benchmark and return its JSON-ready results.

    Args:
        faults: short faults to inject (cycling through :data:`BENCH_FAULTS`).
        hold_s: range of each short fault's duration (uniform).
        long_outages: extra outages (seconds) after the short ones.
        period_s: pause between commands of the load generator.
        seed: randomness of fault durations, task mix and garbage bytes.
        config: link config (defaults otherwise).
        workdir: where the journal goes (a temp dir by default, removed after).
        progress: called with a short line now and then.
    """
    if faults < 1:
        raise ValueError(f"faults must be >= 1, got {faults}")
    config = config or LinkConfig()
    with tempfile.TemporaryDirectory(prefix="ec-link-bench-") as tmp:
        bench = LinkBench(config, Path(workdir or tmp), seed)
        try:
            return bench.run(faults, hold_s, tuple(long_outages), period_s, progress)
        finally:
            bench.close()
