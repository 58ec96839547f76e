"""``embodied-collab bench link``: the link benchmark (see :mod:`embodied_collab.link.bench`)."""

from __future__ import annotations

import argparse
import sys

from embodied_collab.errors import InvalidInputError


def _floats(text: str) -> tuple[float, ...]:
    if not text.strip():
        return ()
    try:
        vals = tuple(float(x) for x in text.split(","))
    except ValueError as exc:
        msg = f"expected comma-separated seconds, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc
    if any(v <= 0 for v in vals):
        raise argparse.ArgumentTypeError(f"durations must be positive, got {text!r}")
    return vals


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    """Add ``bench link`` to the CLI."""
    p = groups["bench"].add_parser(
        "link",
        help="inject faults through a proxy in front of a loopback server; measure the link layer",
    )
    p.add_argument("--faults", type=int, default=100, help="short faults to inject (>= 1)")
    p.add_argument(
        "--long-outages", type=_floats, default=(5.0, 30.0, 60.0),
        help="extra outages in seconds, comma-separated ('' for none); default 5,30,60",
    )
    p.add_argument("--hold", type=_floats, default=(0.5, 1.0),
                   help="MIN,MAX duration of each short fault in seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--missions", type=int, default=3, metavar="N",
                   help="then run N generated missions per outage length with the real local "
                        "LLM (the mission fields; 0 skips them); default 3")
    p.add_argument("--mission-outages", type=_floats, default=(5.0, 30.0, 120.0),
                   help="mission outages in mission seconds besides 0 (online); default "
                        "5,30,120")
    p.add_argument("--time-scale", type=float, default=10.0,
                   help="missions: simulated seconds per wall second of robot actions")
    p.add_argument("--decision-timeout", type=float, default=60.0,
                   help="missions: deadline of one cloud decision, seconds (default 60)")
    p.add_argument("--base-url", help="missions: use this OpenAI-compatible server (loopback) "
                                      "instead of starting the embedded one")
    p.add_argument("--config", help="YAML file with a LinkConfig (optional section 'link')")
    p.add_argument("--trace", help="write JSON-lines logs with command ids to this file")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=_bench)


def _bench(args: argparse.Namespace) -> int:
    import logging

    from embodied_collab.cli.main import print_json
    from embodied_collab.config import load_config
    from embodied_collab.link.bench import run_link_bench
    from embodied_collab.link.config_link import LinkConfig
    from embodied_collab.link.trace import configure_json_logging

    if args.faults < 1:
        raise InvalidInputError(f"--faults must be >= 1, got {args.faults}")
    if args.missions < 0:
        raise InvalidInputError(f"--missions must be >= 0, got {args.missions}")
    if not 0.0 < args.time_scale <= 1000.0:
        raise InvalidInputError(f"--time-scale must be in (0, 1000], got {args.time_scale}")
    if not 0.0 < args.decision_timeout <= 600.0:
        raise InvalidInputError(
            f"--decision-timeout must be in (0, 600] seconds, got {args.decision_timeout}")
    if len(args.hold) != 2 or args.hold[0] > args.hold[1]:
        raise InvalidInputError(f"--hold needs MIN,MAX with MIN <= MAX, got {args.hold}")
    cfg = load_config(LinkConfig, args.config, "link" if args.config else None)
    handler = configure_json_logging(args.trace) if args.trace else None
    try:
        res = run_link_bench(
            args.faults,
            hold_s=(args.hold[0], args.hold[1]),
            long_outages=args.long_outages,
            seed=args.seed,
            config=cfg,
            progress=lambda s: print(s, file=sys.stderr, flush=True),
        )
        if args.missions:
            from embodied_collab.executive.missions_bench import run_missions_bench
            from embodied_collab.link.bench import merge_missions

            missions = run_missions_bench(
                args.missions, outages=(0.0, *args.mission_outages), seed=args.seed,
                time_scale=args.time_scale, decision_timeout_s=args.decision_timeout,
                base_url=args.base_url,
                progress=lambda s: print(f"[missions] {s}", file=sys.stderr, flush=True))
            res = merge_missions(res, missions)
    finally:
        if handler is not None:
            logging.getLogger("embodied_collab").removeHandler(handler)
            handler.close()
    if args.json:
        print_json(res)
    else:
        for key, value in res.items():
            if key not in ("details", "missions"):
                print(f"{key}: {value}")
    return 0
