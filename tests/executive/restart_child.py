"""Child process of the restart test: runs one mission slowly until it is killed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from embodied_collab.executive.executive import task_payload  # noqa: E402
from embodied_collab.sim.generate import generate_task  # noqa: E402
from tests.executive.fakes import local_executive  # noqa: E402


def main() -> None:
    tmp, cid = Path(sys.argv[1]), sys.argv[2]
    ex, _ = local_executive(tmp, time_scale=2.0)
    task = generate_task(5, "multi_step")
    ex.submit(task.instruction, command_id=cid, payload=task_payload(task))
    ex.run_next()


if __name__ == "__main__":
    main()
