"""Entry point of the ``embodied-collab`` console script.

Each component contributes its commands from its own ``cli.py`` module through a
``register(sub, groups)`` function, where ``sub`` is the top-level subparsers object and
``groups`` maps the shared verbs (``bench``, ``train``, ``eval``) to their subparsers, so that
``embodied-collab bench sim`` and ``embodied-collab bench speech`` live in different modules.
Handlers import heavy dependencies lazily so ``embodied-collab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence

from embodied_collab.errors import EmbodiedCollabError

#: Modules providing ``register(sub, groups)``; a module that does not exist yet is skipped.
COMMAND_MODULES = (
    "embodied_collab.sim.cli",
    "embodied_collab.ros.cli",
    "embodied_collab.speech.cli",
    "embodied_collab.cloud.cli",
    "embodied_collab.planner.cli",
    "embodied_collab.vision.cli",
    "embodied_collab.control.cli",
    "embodied_collab.link.cli",
    "embodied_collab.executive.cli",
)

SHARED_VERBS = {
    "bench": "run a benchmark and print its results (JSON with --json)",
    "train": "train one of the project's models",
    "eval": "evaluate a policy or model",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="embodied-collab",
        description="Robot agent stack: on-board small models + a cloud LLM, resilient link.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for verb, help_text in SHARED_VERBS.items():
        verb_parser = sub.add_parser(verb, help=help_text)
        groups[verb] = verb_parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                continue
            raise
        module.register(sub, groups)
    return parser


def print_json(obj: object) -> None:
    """Print ``obj`` as JSON on stdout (the one format every ``--json`` flag uses)."""
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, default=_json_default)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _json_default(obj: object) -> object:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        rc = args.func(args)
    except EmbodiedCollabError as exc:
        print(f"embodied-collab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("embodied-collab: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
