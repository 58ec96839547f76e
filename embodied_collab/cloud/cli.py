"""CLI of the cloud LLM component: ``cloud serve``, ``plan`` and ``bench cloud``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

logger = logging.getLogger(__name__)

#: Same as ``config_cloud.RESPONSE_FORMATS`` (kept here so building the parser imports nothing).
RESPONSE_FORMATS = ("auto", "grammar", "json_schema", "json_object", "none")


def _config(args: argparse.Namespace, **overrides: Any):
    from embodied_collab.cloud.config_cloud import CloudConfig
    from embodied_collab.config import config_from_dict, config_to_dict, load_config

    cfg = load_config(CloudConfig, getattr(args, "config", None), section="cloud")
    data = config_to_dict(cfg)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(CloudConfig, data, source="command line")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML config file (top-level key 'cloud' or flat)")
    p.add_argument(
        "--cloud",
        metavar="URL",
        help="OpenAI-compatible API root (default: start the embedded local server)",
    )
    p.add_argument("--model-name", help="model name sent to the server")
    p.add_argument("--deadline", type=float, help="deadline of one LLM call, seconds")
    p.add_argument("--threads", type=int, help="CPU threads of the embedded server")
    p.add_argument("--repair-rounds", type=int, help="repair rounds (default from config)")
    p.add_argument(
        "--response-format", choices=RESPONSE_FORMATS, help="how JSON is requested (default auto)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def register(
    sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]
) -> None:
    """Add ``cloud serve``, ``plan`` and ``bench cloud`` to the CLI."""
    cloud = sub.add_parser("cloud", help="the cloud LLM (embedded local server)")
    cloud_sub = cloud.add_subparsers(dest="cloud_command", metavar="ACTION", required=True)
    serve = cloud_sub.add_parser("serve", help="run the embedded llama.cpp server (foreground)")
    serve.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    serve.add_argument("--model", help="GGUF file (default: the packaged Qwen2.5-Coder-0.5B)")
    serve.add_argument("--config", help="YAML config file")
    serve.set_defaults(func=_serve)

    plan = sub.add_parser("plan", help="decompose an instruction into a plan of robot skills")
    plan.add_argument("instruction", help="the command, e.g. 'put the red cup in the fridge'")
    plan.add_argument(
        "--world", help="world JSON file (default: the generated world --world-seed)"
    )
    plan.add_argument("--world-seed", type=int, default=0, help="generated world when no --world")
    plan.add_argument("--no-privacy", action="store_true", help="send the instruction unredacted")
    _add_common(plan)
    plan.set_defaults(func=_plan)

    bench = groups["bench"].add_parser("cloud", help="plan validity/success, latency, privacy")
    bench.add_argument("--n", type=int, default=40, help="number of generated tasks (default 40)")
    bench.add_argument("--n-pii", type=int, default=1000, help="generated commands for privacy")
    bench.add_argument("--seed", type=int, default=0)
    _add_common(bench)
    bench.set_defaults(func=_bench)


def _serve(args: argparse.Namespace) -> int:
    from embodied_collab.cloud.server import LocalServer

    cfg = _config(args, local_port=args.port, local_model_path=args.model)
    server = LocalServer(cfg)
    # SIGTERM -> same clean stop as Ctrl-C. Ctrl-C is made to work even where this process was
    # started with SIGINT ignored or blocked (both are inherited from the parent process).
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        server.start()
        print(
            f"serving {cfg.model} at {server.base_url} (pid {server.pid}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        code = server.wait()
        print(f"server exited with code {code}", file=sys.stderr)
        return 1 if code else 0
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _load_world(args: argparse.Namespace):
    if args.world:
        from embodied_collab.sim.world import World

        return World.load(args.world)
    from embodied_collab.sim.generate import generate_world

    return generate_world(args.world_seed)


def _plan(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.cloud.client import ChatClient
    from embodied_collab.cloud.decompose import Decomposer
    from embodied_collab.cloud.server import LocalServer

    cfg = _config(
        args,
        base_url=args.cloud,
        model=args.model_name,
        deadline_s=args.deadline,
        repair_rounds=args.repair_rounds,
        response_format=args.response_format,
        privacy=False if args.no_privacy else None,
        local_n_threads=args.threads,
    )
    world = _load_world(args)
    server = LocalServer(cfg) if cfg.base_url is None else None
    try:
        if server is not None:
            server.start()
        client = ChatClient(cfg, base_url=server.base_url if server else None)
        res = Decomposer(client, cfg).decompose(args.instruction, world, raise_on_invalid=False)
    finally:
        if server is not None:
            server.stop()
    if args.json:
        print_json(res.to_json())
    else:
        for i, step in enumerate(res.plan, 1):
            print(f"{i}. {step['skill']} " + " ".join(f"{k}={v}" for k, v in step["args"].items()))
        if not res.valid:
            print("no valid plan: " + "; ".join(res.errors), file=sys.stderr)
    return 0 if res.valid else 1


def _bench(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.cloud.bench import bench_cloud

    if args.n < 1:
        raise SystemExit("embodied-collab: error: --n must be >= 1")
    cfg = _config(
        args,
        base_url=args.cloud,
        model=args.model_name,
        deadline_s=args.deadline,
        repair_rounds=args.repair_rounds,
        response_format=args.response_format,
        local_n_threads=args.threads,
    )
    out = bench_cloud(args.n, seed=args.seed, cfg=cfg, n_pii=args.n_pii)
    if args.json:
        print_json(out)
    else:
        for k, v in out.items():
            print(f"{k}: {v}")
    return 0
