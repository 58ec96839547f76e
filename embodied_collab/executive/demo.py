"""The first full mission (README command (a)): a spoken command carried out on the simulated
robot with the ROS graph up, the local "cloud" LLM server behind a fault-injecting proxy, and
link outages injected while the mission runs.

Everything started here is stopped here (the server by PID, bounded), also on Ctrl-C and errors.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embodied_collab.errors import DependencyNotInstalled, InvalidInputError
from embodied_collab.executive.config_executive import ExecutiveConfig

logger = logging.getLogger(__name__)

#: Default outage: starts this many seconds after the mission starts, lasts this long.
DEFAULT_OUTAGE = (6.0, 12.0)


@dataclass(kw_only=True)
class DemoOptions:
    """What the demo does (the CLI's flags)."""

    seed: int = 0
    difficulty: str = "multi_step"
    command: str | None = None
    audio: str | None = None
    outages: list[tuple[float, float]] = field(default_factory=lambda: [DEFAULT_OUTAGE])
    report_dir: str = "reports/demo"
    time_scale: float = 1.0
    ros: bool = True
    timeout_s: float = 300.0
    probe_timeout_s: float = 1.0
    navigation: str = "ros"
    warmup_s: float = 180.0
    perception: str = "camera"

    def __post_init__(self) -> None:
        if self.command is not None and self.audio is not None:
            raise ValueError("give --command or --audio, not both")
        for start, dur in self.outages:
            if start < 0 or dur <= 0:
                raise ValueError(f"outage START:DURATION needs START >= 0 and DURATION > 0, "
                                 f"got {start}:{dur}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s!r}")
        if self.navigation == "ros" and not self.ros:
            raise ValueError("navigation 'ros' drives the robot through the ROS graph; "
                             "it cannot run with --no-ros (use --navigation control or path)")


def parse_outage(text: str) -> tuple[float, float]:
    """``"START:DURATION"`` (seconds) -> ``(start, duration)``.

    Raises:
        InvalidInputError: not two non-negative numbers separated by a colon.
    """
    try:
        a, b = text.split(":")
        start, dur = float(a), float(b)
    except ValueError:
        raise InvalidInputError(
            f"--outage wants START:DURATION in seconds, got {text!r}") from None
    if start < 0 or dur <= 0:
        raise InvalidInputError(f"--outage {text!r}: START must be >= 0 and DURATION > 0")
    return start, dur


def _hear(opts: DemoOptions, task: Any) -> tuple[str, dict[str, float], str]:
    """The command text, speech stage timings, and where it came from."""
    if opts.command is not None:
        if not opts.command.strip():
            raise InvalidInputError("--command is empty")
        return opts.command.strip(), {}, "text"
    from embodied_collab.speech.config_speech import SpeechConfig
    from embodied_collab.speech.pipeline import SpeechPipeline

    if opts.audio is not None:
        import soundfile as sf

        path = Path(opts.audio)
        if not path.is_file():
            raise InvalidInputError(f"--audio file not found: {path}")
        audio, rate = sf.read(str(path), dtype="float32")
        source = f"audio {path}"
    else:
        from embodied_collab.speech.synth import VOICES, Synthesizer

        t0 = time.perf_counter()
        audio, rate = Synthesizer().speak(task.instruction, VOICES[0]), 16000
        logger.info("synthesized the command in %.2f s", time.perf_counter() - t0)
        source = "synthesized speech"
    res = SpeechPipeline(SpeechConfig(), task.world()).transcribe(audio, rate)
    timings = {f"{k}_s": v for k, v in res.timings.items()}
    timings["speech_total_s"] = res.latency_s
    if not res.text.strip():
        raise InvalidInputError("no speech was recognised in the audio")
    return res.text, timings, source


def _warm_up(base_url: str, task: Any, deadline_s: float, say: Any) -> None:
    """One plan for an unrelated instruction before the mission starts.

    The llama.cpp server keeps the fixed part of the prompt (system prompt and worked examples,
    ~450 tokens) in its cache, so the mission's decisions only pay for their own few tokens;
    without this, the first cloud decision pays for the whole prompt on a 2-core CPU and misses
    its deadline (and a timed-out request keeps the single-slot server busy).
    """
    from embodied_collab.cloud.client import ChatClient
    from embodied_collab.cloud.config_cloud import CloudConfig
    from embodied_collab.cloud.decompose import Decomposer
    from embodied_collab.errors import EmbodiedCollabError

    world = task.world()
    obj = world.objects[0]
    say(f"warming up the cloud model (bounded by {deadline_s:.0f} s)")
    t0 = time.monotonic()
    cfg = CloudConfig(deadline_s=deadline_s, repair_rounds=0)
    try:
        Decomposer(ChatClient(cfg, base_url=base_url), cfg).decompose(
            f"Pick up the {obj.describe()}.", world, raise_on_invalid=False)
        say(f"cloud model warm in {time.monotonic() - t0:.1f} s")
    except EmbodiedCollabError as exc:
        logger.warning("cloud warm-up failed after %.1f s: %s", time.monotonic() - t0, exc)


def _outage_thread(proxy: Any, outages: list[tuple[float, float]], t_start: float,
                   clock0: float, record: list[dict], stop: threading.Event) -> threading.Thread:
    def run() -> None:
        for start, dur in sorted(outages):
            if stop.wait(max(0.0, t_start + start - time.monotonic())):
                return
            proxy.set_fault("blackhole")
            rec = {"start_s": start, "duration_s": dur, "start_wall": time.monotonic() - clock0}
            logger.info("outage injected (%.0f s)", dur, extra={"event": "outage_start"})
            stop.wait(max(0.0, t_start + start + dur - time.monotonic()))
            proxy.set_fault("pass")
            rec["end_wall"] = time.monotonic() - clock0
            record.append(rec)
            logger.info("outage cleared", extra={"event": "outage_end"})
            if stop.is_set():
                return

    th = threading.Thread(target=run, name="outages", daemon=True)
    th.start()
    return th


def _ros_graph(opts: DemoOptions, task: Any, out_dir: Path,
               stack: ExitStack) -> tuple[Any, Any, Any]:
    """Bring the graph up on the task's world; returns (host, attach, navigator).

    The simulator and control nodes load the task's world from ``out_dir/world.json``. The
    executive node is not hosted from its parameters: ``attach(executive)`` creates it, attached
    to the demo's executive, in a context of its own, with the :class:`RosNavigator` (created
    here, bound then) that sends the mission's navigation goals to the control node.
    """
    from embodied_collab.errors import require

    rclpy = require("rclpy", "ros")
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from embodied_collab.ros.host import GraphHost, spin_in_thread, stop_spinning
    from embodied_collab.ros.navigation_client import RosNavigator

    world_file = out_dir / "world.json"
    task.world().save(world_file)
    # a slow camera stream: the mission's perception renders its own frames, and the LLM
    # server needs the CPU more than a 30 Hz video nobody watches
    host = GraphHost("sim", exclude=("executive",), overrides={
        "sim": {"world_seed": opts.seed, "world_path": str(world_file),
                "rate_factor": min(opts.time_scale, 100.0), "camera_rate_hz": 2.0,
                "camera_width": 160, "camera_height": 120},
        "control": {"world_path": str(world_file)}})
    host.start()
    stack.callback(host.shutdown)
    navigator = RosNavigator() if opts.navigation == "ros" else None

    def attach(executive: Any) -> None:
        from embodied_collab.ros.executive_node import ExecutiveNode

        ctx = Context()
        rclpy.init(context=ctx, signal_handler_options=SignalHandlerOptions.NO)
        stack.callback(ctx.try_shutdown)
        node = ExecutiveNode("executive", context=ctx, executive=executive)
        stack.callback(node.destroy_node)
        if navigator is not None:
            navigator.bind(node)
        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        thread, stopped = spin_in_thread(executor)
        stack.callback(lambda: stop_spinning(executor, thread, stopped))

    return host, attach, navigator


def run_demo(opts: DemoOptions, progress: Any = None) -> tuple[dict[str, Any], str]:
    """Run the demo mission; returns (the --json result, the human summary)."""
    from embodied_collab.cloud.config_cloud import CloudConfig
    from embodied_collab.cloud.server import LocalServer
    from embodied_collab.executive import report
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
    from embodied_collab.link.trace import configure_json_logging
    from embodied_collab.sim.generate import generate_task

    say = progress or (lambda _m: None)
    out_dir = Path(opts.report_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "log.jsonl",
                  "cloud_sync.jsonl"):
        (out_dir / stale).unlink(missing_ok=True)
    handler = configure_json_logging(out_dir / "log.jsonl")
    clock0 = time.monotonic()
    task = generate_task(opts.seed, opts.difficulty)
    local = LocalDecider()
    local.policy  # noqa: B018 - load now: a missing checkpoint is reported before anything starts
    cfg = ExecutiveConfig(journal_path=str(out_dir / "journal.sqlite"),
                          time_scale=opts.time_scale, navigation=opts.navigation,
                          perception=opts.perception)
    stop = threading.Event()
    outage_log: list[dict] = []
    with ExitStack() as stack:
        stack.callback(lambda: logging.getLogger("embodied_collab").removeHandler(handler))
        stack.callback(handler.close)
        say("hearing the command")
        text, speech_t, source = _hear(opts, task)
        say(f"heard ({source}): {text!r}")
        pose_sink, ros_up, navigator, mission_ros = None, False, None, None
        if opts.ros:
            try:
                host, mission_ros, navigator = _ros_graph(opts, task, out_dir, stack)
                if opts.navigation != "ros":  # the in-process robot moves the ROS base
                    sim = host.node("sim").sim
                    pose_sink = lambda x, y, th: sim.set_pose(x, y, th)  # noqa: E731
                ros_up = True
                say("ROS graph up (simulator, control, vision, speech; executive node attached "
                    "to this mission's executive)")
            except DependencyNotInstalled as exc:
                if opts.navigation == "ros":
                    raise
                logger.warning("running without the ROS graph: %s", exc)
        say("starting the local cloud LLM server")
        # one server thread: on 2 cores shared with the robot's own work, a second thread
        # makes generation slower, not faster (measured, docs/benchmarks/cloud.md)
        server = LocalServer(CloudConfig(local_n_threads=1),
                             log_path=out_dir / "llm_server.log").start()
        stack.callback(server.stop)
        _warm_up(server.base_url, task, opts.warmup_s, say)
        proxy = FaultProxy(("127.0.0.1", server.port)).start()
        stack.callback(proxy.stop)
        link_cfg = LinkConfig(probe_timeout_s=opts.probe_timeout_s)
        monitor, cloud, router = make_router(proxy.url + "/v1", link_config=link_cfg,
                                             local_policy=local.policy)
        stack.callback(monitor.stop)
        monitor.wait_for(LinkState.UP, 10.0)
        journal = Journal(cfg.journal_path)
        stack.callback(journal.close)
        sync_path = out_dir / "cloud_sync.jsonl"

        def sink(records: list) -> None:  # the cloud side's log of what the robot did offline
            if not cloud.available():
                raise ConnectionError("link not up")
            with sync_path.open("a") as f:
                for r in records:
                    f.write(report.json.dumps({"seq": r.seq, "kind": r.kind,
                                               "command_id": r.command_id, **r.payload}) + "\n")

        ex = Executive(cfg, router=router, journal=journal, monitor=monitor,
                       robot_factory=sim_robot_factory(cfg, pose_sink, navigator=navigator),
                       outbox_sink=sink)
        if mission_ros is not None:  # ROS users watch (and may cancel) the mission
            mission_ros(ex)
        ex.add_listener(lambda m, ev: ev == "transition" and say(f"{m.state}: {m.reason}"))
        mission = ex.submit(text, payload=task_payload(task))
        t_start = time.monotonic()
        clock0 = t_start - ex.now()  # report times on the executive's clock
        stack.callback(stop.set)
        _outage_thread(proxy, opts.outages, t_start, clock0, outage_log, stop)
        ex.start()
        stack.callback(ex.stop)
        try:
            ex.wait(mission.command_id, opts.timeout_s)
            if not mission.terminal:
                ex.cancel(mission.command_id, kind="cancel",
                          reason=f"demo timeout of {opts.timeout_s:.0f} s")
                ex.wait(mission.command_id, 10.0)
        except KeyboardInterrupt:
            ex.cancel(mission.command_id, kind="stop", reason="Ctrl-C")
            ex.wait(mission.command_id, 5.0)
            raise
        finally:
            stop.set()
        duration = time.monotonic() - t_start
        if monitor.state == LinkState.UP:
            ex.sync_outbox()
        robot = ex.robots.get(mission.command_id)
        lost = len(journal.unfinished())
        counts = mission.counts()
        result = {
            "success": mission.state == "done",
            "duration_s": round(duration, 2),
            "decisions": {"cloud": counts["cloud"], "local": counts["local"]},
            "outages": [{"start_s": o["start_s"], "duration_s": o["duration_s"]}
                        for o in outage_log],
            "lost_commands": lost,
            "cloud_calls": counts["cloud_calls"],
            "command": text, "command_source": source, "state": mission.state,
            "reason": mission.reason, "task": task.instruction, "seed": opts.seed,
            "difficulty": opts.difficulty, "ros": ros_up, "time_scale": opts.time_scale,
            "outbox_synced": ex.synced, "outbox_pending": len(journal.outbox_pending()),
            "report_dir": str(out_dir),
        }
        end = ex.now()
        if robot is not None:
            report.save_map(robot, out_dir / "map.png", f"{mission.state}: {text}")
        report.save_timeline(ex.timeline, mission, outage_log, end, out_dir / "timeline.png")
        report.write_json(report.stage_latencies(mission, speech_t), out_dir / "latencies.json")
        report.write_json(report.journal_dump(journal), out_dir / "journal.json")
        report.write_json({**result, "mission": mission.to_dict(),
                           "link_timeline": ex.timeline}, out_dir / "result.json")
        summary = report.summary_text(result, mission, out_dir)
    return result, summary
