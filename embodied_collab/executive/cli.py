"""CLI: ``embodied-collab demo`` (README command (a)) and ``embodied-collab bench missions``."""

from __future__ import annotations

import argparse
import signal
import sys

#: The demo's navigation backend unless --navigation says otherwise (see DemoOptions).
DEFAULT_NAVIGATION = "ros"


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]
             ) -> None:
    """Add ``demo`` and ``bench missions``."""
    demo = sub.add_parser("demo", help="the first full mission: spoken command, ROS graph on "
                          "the simulator, local cloud LLM, link outages, report")
    demo.add_argument("--seed", type=int, default=0, help="world/task seed (default 0)")
    demo.add_argument("--difficulty", default="multi_step",
                      help="fetch, multi_step, search or attributes (default multi_step)")
    src = demo.add_mutually_exclusive_group()
    src.add_argument("--command", help="typed command instead of speech")
    src.add_argument("--audio", help="WAV file with the spoken command")
    demo.add_argument("--outage", action="append", metavar="START:DURATION",
                      help="link outage, seconds from mission start (repeatable; default 6:12)")
    demo.add_argument("--no-outage", action="store_true", help="no link outage")
    demo.add_argument("--report", default="reports/demo", help="report directory")
    demo.add_argument("--navigation", choices=("ros", "control", "path"), default=None,
                      help="ros: navigation goals go over ROS 2 to the control node, which "
                           "drives the simulator node's base over /cmd_vel; control: the "
                           "fast-control loop drives an in-process simulator and the ROS base "
                           "follows its pose; path: follow the occupancy-grid path without a "
                           f"controller (default: {DEFAULT_NAVIGATION})")
    demo.add_argument("--perception", choices=("camera", "ground_truth"), default="camera",
                      help="camera: objects enter the scene graph through the camera and the "
                           "detector (default); ground_truth: the simulator reveals them")
    demo.add_argument("--time-scale", type=float, default=1.0,
                      help="simulated seconds per wall second for the robot (default 1)")
    demo.add_argument("--no-ros", action="store_true", help="skip the ROS graph")
    demo.add_argument("--timeout", type=float, default=300.0, help="mission bound, seconds")
    demo.add_argument("--json", action="store_true", help="print the JSON result")
    demo.set_defaults(func=_demo)

    bench = groups["bench"].add_parser("missions", help="mission success under link outages "
                                       "of 0, 5, 30, 120 s")
    bench.add_argument("--n", type=int, default=4, help="missions per outage length")
    bench.add_argument("--outages", default="0,5,30,120", help="outage lengths, mission seconds")
    bench.add_argument("--difficulty", default="mixed")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--time-scale", type=float, default=10.0,
                       help="simulated seconds per wall second (default 10)")
    bench.add_argument("--base-url", help="use this OpenAI-compatible server (loopback)")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(func=_bench)


def _interrupt(*_a: object) -> None:
    raise KeyboardInterrupt


def _demo(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.errors import InvalidInputError
    from embodied_collab.executive.demo import DemoOptions, parse_outage, run_demo

    if args.no_outage and args.outage:
        raise InvalidInputError("--outage and --no-outage exclude each other")
    outages = [] if args.no_outage else [parse_outage(o) for o in args.outage or []] or None
    try:
        opts = DemoOptions(seed=args.seed, difficulty=args.difficulty, command=args.command,
                           audio=args.audio, report_dir=args.report, time_scale=args.time_scale,
                           navigation=args.navigation or (
                               "control" if args.no_ros else DEFAULT_NAVIGATION),
                           perception=args.perception,
                           ros=not args.no_ros, timeout_s=args.timeout,
                           **({} if outages is None else {"outages": outages}))
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    signal.signal(signal.SIGTERM, _interrupt)
    say = None if args.json else (lambda m: print(f"[demo] {m}", file=sys.stderr, flush=True))
    try:
        result, summary = run_demo(opts, progress=say)
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    if args.json:
        print_json({k: result[k] for k in ("success", "duration_s", "decisions", "outages",
                                           "lost_commands")})
    else:
        print(summary)
    return 0 if result["success"] else 1


def _bench(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.errors import InvalidInputError
    from embodied_collab.executive.missions_bench import run_missions_bench

    try:
        outages = tuple(float(x) for x in args.outages.split(",") if x.strip())
    except ValueError:
        raise InvalidInputError(f"--outages wants numbers separated by commas, "
                                f"got {args.outages!r}") from None
    signal.signal(signal.SIGTERM, _interrupt)
    say = lambda m: print(f"[bench missions] {m}", file=sys.stderr, flush=True)  # noqa: E731
    try:
        res = run_missions_bench(args.n, outages=outages, difficulty=args.difficulty,
                                 seed=args.seed, time_scale=args.time_scale,
                                 base_url=args.base_url, progress=say)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if args.json:
        print_json(res)
    else:
        for k, v in res.items():
            if k != "missions":
                print(f"{k}: {v}")
    return 0
