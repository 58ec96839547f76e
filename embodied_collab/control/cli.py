"""Commands of fast control: ``train controller`` and ``bench control``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    """Add ``embodied-collab train controller`` and ``embodied-collab bench control``."""
    p = groups["train"].add_parser("controller", help="train the learned local controller (PPO)")
    p.add_argument("--config", help="YAML file of TrainConfig keys (section 'train') and "
                   "ControlConfig keys (section 'control')")
    p.add_argument("--out", help="output directory (default: the packaged policy's directory)")
    p.add_argument("--steps", type=int, help="override total_timesteps")
    p.set_defaults(func=_train)
    b = groups["bench"].add_parser("control", help="learned vs classical controller benchmark")
    b.add_argument("--episodes", type=int, default=200, help="episodes per controller")
    b.add_argument("--seed", type=int, default=500_000, help="first episode seed")
    b.add_argument("--config", help="YAML file of ControlConfig keys (section 'control')")
    b.add_argument("--controllers", default="learned,classical", help="comma-separated")
    b.add_argument("--timing-s", type=float, default=10.0,
                   help="seconds of loop timing (through ROS 2 when rclpy is importable; "
                   "0 = skip)")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(func=_bench)


def _train(args: argparse.Namespace) -> int:
    import dataclasses

    from embodied_collab.cli.main import print_json
    from embodied_collab.config import load_config
    from embodied_collab.control.config_control import ControlConfig
    from embodied_collab.control.train import TrainConfig, train_controller

    tc = load_config(TrainConfig, args.config, section="train")
    if args.steps is not None:
        tc = dataclasses.replace(tc, total_timesteps=args.steps)
    control = load_config(ControlConfig, args.config, section="control")
    print_json(train_controller(tc, control, args.out))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.config import load_config
    from embodied_collab.control.bench import run_bench
    from embodied_collab.control.config_control import ControlConfig
    from embodied_collab.errors import InvalidInputError

    if args.episodes < 1:
        raise InvalidInputError(f"--episodes must be >= 1, got {args.episodes}")
    names = tuple(n.strip() for n in args.controllers.split(",") if n.strip())
    bad = [n for n in names if n not in ("learned", "classical")]
    if bad or not names:
        raise InvalidInputError(f"--controllers must name learned and/or classical, got {bad}")
    cfg = load_config(ControlConfig, args.config, section="control")
    res = run_bench(args.episodes, args.seed, cfg, names, args.timing_s, progress=not args.json)
    if args.json:
        print_json(res)
    else:
        for name in names:
            r = res[name]
            print(f"{name:10s} success {r['success_rate']:.3f} collisions {r['collisions']} "
                  f"time ratio {r['time_ratio_to_oracle']} loop {r['loop_hz']} Hz "
                  f"jitter p99 {r['period_jitter_ms_p99']} ms ({r['timing_source']})")
    return 0
