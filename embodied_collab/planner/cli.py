"""CLI of the planner SLM: ``train planner``, ``eval planner``, ``bench planner``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction,
             groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add the planner's commands to the CLI."""
    t = groups["train"].add_parser("planner", help="distil + PPO-fine-tune the planner SLM")
    t.add_argument("--teacher", choices=("oracle", "llm"), help="teacher (default: oracle)")
    t.add_argument("--config", help="YAML config (top-level key 'planner' or flat)")
    t.add_argument("--out", default="runs/planner", help="output directory (default runs/planner)")
    t.add_argument("--strategy", choices=("sft", "rl", "sft-rl", "rl-sft"))
    t.add_argument("--llm-url", help="OpenAI-compatible API root of the LLM teacher "
                                     "(default: start the embedded local server)")
    t.add_argument("--baseline", choices=("mlp-ppo",),
                   help="train the SB3 MLP-policy PPO baseline instead of the SLM")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    t.set_defaults(func=_train)

    e = groups["eval"].add_parser("planner", help="evaluate a planning policy on a suite")
    e.add_argument("--suite", required=True, help="suite JSON file")
    e.add_argument("--policy", default="slm",
                   help="checkpoint PATH, or slm|oracle|random|mlp-ppo|llm (default slm)")
    e.add_argument("--llm-url", help="endpoint for --policy llm (default: start the local server)")
    e.add_argument("--mask", action="store_true", help="SLM: restrict to valid actions")
    e.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(func=_eval)

    b = groups["bench"].add_parser("planner", help="oracle/random/MLP-PPO/LLM/SLM side by side")
    b.add_argument("--episodes", type=int, default=50, help="tasks per difficulty (default 50)")
    b.add_argument("--llm-episodes", type=int, default=6,
                   help="tasks per difficulty for the LLM (default 6)")
    b.add_argument("--llm-budget", type=float, default=600.0,
                   help="wall-time bound of the LLM's runs per difficulty, s (default 600)")
    b.add_argument("--seed", type=int, default=None, help="suite seed")
    b.add_argument("--policies", default=",".join(("oracle", "random", "mlp-ppo", "llm", "slm")),
                   help="comma-separated subset")
    b.add_argument("--slm", help="SLM checkpoint (default: the committed one)")
    b.add_argument("--llm-url", help="LLM endpoint (default: start the embedded local server)")
    b.add_argument("--markdown", help="write the comparison table here")
    b.add_argument("--plot", help="write the comparison plot (PNG) here")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(func=_bench)
    e.add_argument("--compare", action="store_true",
                   help="run the benchmark baselines on --suite side by side")


def _config(args: argparse.Namespace):
    from embodied_collab.config import config_from_dict, config_to_dict, load_config
    from embodied_collab.planner.config_planner import PlannerConfig

    section = None
    if args.config:
        import yaml

        try:
            doc = yaml.safe_load(Path(args.config).read_text())
        except (OSError, yaml.YAMLError):
            doc = None  # load_config reports the problem with the file name
        if isinstance(doc, dict) and "planner" in doc:
            section = "planner"
    cfg = load_config(PlannerConfig, args.config, section=section)
    data = config_to_dict(cfg)
    for key, value in (("teacher", args.teacher), ("strategy", args.strategy),
                       ("llm_base_url", args.llm_url)):
        if value is not None:
            data[key] = value
    return config_from_dict(PlannerConfig, data, source="command line")


def _train(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.planner.train import train, train_mlp_ppo

    cfg = _config(args)
    if args.baseline == "mlp-ppo":
        summary: dict[str, Any] = train_mlp_ppo(cfg, args.out, progress=not args.quiet)
    else:
        summary = train(cfg, args.out, progress=not args.quiet)
    summary["out"] = str(args.out)
    if args.json:
        print_json(summary)
    else:
        for k, v in summary.items():
            print(f"{k}: {v}")
    return 0


def _with_llm(args: argparse.Namespace, fn):
    """Run ``fn(url)``, starting the embedded LLM server when no URL is given."""
    if args.llm_url:
        return fn(args.llm_url)
    from embodied_collab.cloud.server import LocalServer

    with LocalServer() as server:
        return fn(server.base_url)


def _eval(args: argparse.Namespace) -> int:
    import torch

    from embodied_collab.cli.main import print_json
    from embodied_collab.planner.evaluate import evaluate, load_suite, make_agent

    suite = load_suite(args.suite)
    torch.set_num_threads(max(1, args.threads))
    if args.compare:
        from embodied_collab.planner.bench import BASELINES

        out = {}
        for name in BASELINES:
            try:
                if name == "llm":
                    out[name] = _with_llm(args, lambda url: evaluate(
                        suite.tasks, make_agent("llm", llm_url=url), time_budget_s=600.0))
                else:
                    out[name] = evaluate(suite.tasks, make_agent(name))
            except Exception as exc:  # one missing baseline must not hide the others
                logger.warning("%s skipped: %s", name, exc)
                out[name] = {"skipped": str(exc)}
        print_json(out) if args.json else print(out)
        return 0
    mask = True if args.mask else None
    if args.policy == "llm":
        result = _with_llm(args, lambda url: evaluate(suite.tasks, make_agent("llm", llm_url=url)))
    else:
        try:
            agent = make_agent(args.policy, action_masking=mask)
        except ValueError as exc:
            from embodied_collab.errors import InvalidInputError

            raise InvalidInputError(str(exc)) from None
        result = evaluate(suite.tasks, agent)
    keys = ("success_rate", "spl", "invalid_action_rate", "mean_steps",
            "decision_latency_ms_p50", "episodes")
    summary = {k: result[k] for k in keys}
    if args.json:
        print_json({**summary, "per_difficulty": result["per_difficulty"]})
    else:
        for k in keys:
            print(f"{k}: {summary[k]}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from embodied_collab.cli.main import print_json
    from embodied_collab.planner.bench import BENCH_SEED, bench_planner, markdown_table, plot

    policies = tuple(p.strip() for p in args.policies.split(",") if p.strip())
    report = bench_planner(episodes=args.episodes, llm_episodes=args.llm_episodes,
                           llm_budget_s=args.llm_budget,
                           seed=BENCH_SEED if args.seed is None else args.seed,
                           policies=policies, llm_url=args.llm_url, slm_path=args.slm)
    table = markdown_table(report)
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.plot:
        plot(report, args.plot)
    if args.json:
        print_json(report)
    else:
        print(table)
    return 0
