"""CLI of the simulator: ``sim validate|generate|world|run`` and ``bench sim``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction,
             groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add ``sim validate``, ``sim generate``, ``sim world``, ``sim run`` and ``bench sim``."""
    sim = sub.add_parser("sim", help="the simulated household: files, generation, oracle runs")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="ACTION", required=True)

    p = sim_sub.add_parser("validate", help="check a world or suite JSON file")
    p.add_argument("file", help="world or suite file (detected by its 'format' field)")
    p.set_defaults(func=_validate)

    p = sim_sub.add_parser("generate", help="write a suite of generated tasks")
    p.add_argument("--n", type=int, required=True, help="number of tasks")
    p.add_argument("--difficulty", default="mixed",
                   help="fetch, multi_step, search, attributes, 1-4, or mixed (default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the world seeds (default 0)")
    p.add_argument("--name", default="",
                   help="suite name (default: generated-<difficulty>-<seed>)")
    p.add_argument("--out", required=True, help="suite file to write")
    p.set_defaults(func=_generate)

    p = sim_sub.add_parser("world", help="write a generated world (and a picture of it)")
    p.add_argument("--seed", type=int, required=True, help="world seed")
    p.add_argument("--out", required=True, help="world JSON file to write")
    p.add_argument("--png", help="also write a top-down map to this PNG file")
    p.set_defaults(func=_world)

    p = sim_sub.add_parser("run", help="one generated task solved by the privileged oracle")
    p.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    p.add_argument("--difficulty", default="mixed",
                   help="task difficulty; 'mixed' (default) picks one from the seed")
    p.add_argument("--suite", help="take the task from this suite file instead")
    p.add_argument("--task", type=int, default=0, help="task index in --suite (default 0)")
    p.add_argument("--out", default="runs/sim", help="directory for run.png/run.json "
                   "(default runs/sim)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_run)

    b = groups["bench"].add_parser("sim", help="simulator speed and oracle success (one core)")
    b.add_argument("--seconds", type=float, default=3.0, help="timing window per measurement")
    b.add_argument("--n", type=int, default=100, help="oracle tasks per difficulty (default 100)")
    b.add_argument("--planning-only", action="store_true",
                   help="skip the continuous-simulator measurements")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(func=_bench)


# ------------------------------------------------------------------------- validate
def describe_file(path: str | Path) -> str:
    """Load and fully validate a world or suite file; returns a one-line summary.

    Raises:
        InvalidFileError: naming the file and the JSON path of the first problem.
    """
    from embodied_collab.errors import InvalidFileError
    from embodied_collab.sim.files import read_json
    from embodied_collab.sim.tasks import SUITE_FORMAT, Suite
    from embodied_collab.sim.world import WORLD_FORMAT, World

    path = Path(path)
    doc = read_json(path)
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if fmt == WORLD_FORMAT:
        w = World.from_dict(doc, source=str(path))
        return (f"world {w.name or path.name!r}: {len(w.rooms)} rooms, {len(w.doors)} doors, "
                f"{len(w.furniture)} furniture, {len(w.objects)} objects")
    if fmt == SUITE_FORMAT:
        s = Suite.from_dict(doc, source=str(path), base_dir=path.parent)
        kinds = Counter(t.difficulty or "unspecified" for t in s.tasks)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        return f"suite {s.name or path.name!r}: {len(s)} tasks ({counts})"
    if not isinstance(doc, dict):
        raise InvalidFileError(f"expected a JSON object, got {type(doc).__name__}", path=str(path))
    raise InvalidFileError(
        f"'format' must be {WORLD_FORMAT!r} or {SUITE_FORMAT!r}, got {fmt!r}",
        path=str(path), json_path="$.format",
    )


def _validate(args: argparse.Namespace) -> int:
    from embodied_collab.errors import InvalidFileError

    try:
        summary = describe_file(args.file)
    except InvalidFileError as exc:
        print(f"INVALID: {exc}", file=sys.stderr)
        return 1
    print(f"OK: {summary}")
    return 0


# ------------------------------------------------------------------------- generate
def _generate(args: argparse.Namespace) -> int:
    from embodied_collab.errors import InvalidInputError
    from embodied_collab.sim.generate import generate_suite

    if args.n < 1:
        raise InvalidInputError(f"--n must be >= 1, got {args.n}")
    try:
        suite = generate_suite(args.n, args.difficulty, seed=args.seed, name=args.name)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    suite.save(args.out)
    kinds = Counter(t.difficulty for t in suite.tasks)
    print(f"wrote {args.out}: {len(suite)} tasks "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    return 0


# ---------------------------------------------------------------------------- world
def _world(args: argparse.Namespace) -> int:
    from embodied_collab.errors import InvalidInputError
    from embodied_collab.sim.generate import generate_world

    try:
        world = generate_world(args.seed)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    world.save(args.out)
    print(f"wrote {args.out}: {len(world.rooms)} rooms, {len(world.furniture)} furniture, "
          f"{len(world.objects)} objects")
    if args.png:
        from embodied_collab.sim.render import render_topdown, save_png

        save_png(render_topdown(world, title=f"{world.name}"), args.png)
        print(f"wrote {args.png}")
    return 0


# ------------------------------------------------------------------------------ run
def run_oracle(seed: int = 0, difficulty: str = "mixed", suite: str | None = None,
               task_index: int = 0, out: str | Path | None = None) -> dict[str, Any]:
    """One task in the planning simulator with the privileged oracle driving.

    Args:
        seed: world seed of the generated task.
        difficulty: its difficulty (``mixed``: chosen from the seed).
        suite: take the task from this suite file instead of generating it.
        task_index: task of ``suite``.
        out: directory to write ``run.png`` (top-down map with the driven path) and
            ``run.json`` (the summary), or ``None``.

    Returns:
        The summary: task, instruction, actions with their outcomes, success, path length,
        the oracle's planned path length, and the files written.
    """
    from embodied_collab.errors import InvalidInputError
    from embodied_collab.sim.generate import generate_task, parse_difficulty
    from embodied_collab.sim.oracle import OraclePolicy, oracle_path_length
    from embodied_collab.sim.planning_env import HouseholdPlanEnv, prepared_world
    from embodied_collab.sim.tasks import Suite

    if suite is not None:
        s = Suite.load(suite)
        if not 0 <= task_index < len(s):
            raise InvalidInputError(f"--task must be in [0, {len(s)}), got {task_index}")
        task = s.tasks[task_index]
    else:
        try:
            diffs = parse_difficulty(difficulty)
            task = generate_task(seed, diffs[seed % len(diffs)])
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
    env = HouseholdPlanEnv()
    _, info = env.reset(options={"task": task})
    policy = OraclePolicy()
    steps = []
    terminated = truncated = False
    while not (terminated or truncated):
        action = policy(env)
        _, reward, terminated, truncated, info = env.step(action)
        steps.append({"action": info["action"], "ok": info["action_ok"],
                      "message": info["message"], "metres": round(info["path_length"], 2),
                      "reward": round(reward, 3)})
    ep = env.episode
    pristine, _ = prepared_world(task)
    summary: dict[str, Any] = {
        "task": task.id,
        "difficulty": task.difficulty,
        "world_seed": task.world_seed,
        "instruction": task.instruction,
        "success_predicate": task.success,
        "actions": steps,
        "success": bool(info["is_success"]),
        "path_length_m": round(ep.path_length, 2),
        "oracle_path_length_m": round(oracle_path_length(pristine, task), 2),
    }
    if out is not None:
        from embodied_collab.sim.render import render_topdown, save_png

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        status = "success" if summary["success"] else "FAILED"
        img = render_topdown(env.world, trail=env.driven_path(),
                             title=f"[{status}, {summary['path_length_m']} m] {task.instruction}")
        summary["picture"] = str(save_png(img, out / "run.png"))
        summary["summary_file"] = str(out / "run.json")
        (out / "run.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _run(args: argparse.Namespace) -> int:
    summary = run_oracle(args.seed, args.difficulty, args.suite, args.task, args.out)
    if args.json:
        from embodied_collab.cli.main import print_json

        print_json(summary)
    else:
        print(f"task:        {summary['task']} ({summary['difficulty']}, world seed "
              f"{summary['world_seed']})")
        print(f"instruction: {summary['instruction']}")
        for i, s in enumerate(summary["actions"], 1):
            print(f"  {i:2d}. {s['action']:<24} {'ok' if s['ok'] else 'FAILED'}  {s['message']}")
        print(f"success:     {summary['success']}")
        print(f"path length: {summary['path_length_m']} m (oracle plan "
              f"{summary['oracle_path_length_m']} m)")
        if "picture" in summary:
            print(f"picture:     {summary['picture']}")
    return 0 if summary["success"] else 1


# ---------------------------------------------------------------------------- bench
def _bench(args: argparse.Namespace) -> int:
    from embodied_collab.sim.bench import bench_sim

    result = bench_sim(seconds=args.seconds, n_per_difficulty=args.n, progress=True,
                       continuous=not args.planning_only)
    if args.json:
        from embodied_collab.cli.main import print_json

        print_json(result)
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0
