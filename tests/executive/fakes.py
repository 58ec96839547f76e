"""Fakes for the executive's unit tests (named as fakes: they replace real components)."""

from __future__ import annotations

from embodied_collab.executive.config_executive import ExecutiveConfig
from embodied_collab.executive.executive import Executive, sim_robot_factory
from embodied_collab.link import LinkConfig, Router
from embodied_collab.link.journal import Journal
from embodied_collab.sim.catalog import DIFFICULTIES


class FakeOracleLocalPolicy:
    """FAKE on-board planner: the privileged oracle (reads ground truth) with a fixed
    confidence. Stands in for the planner SLM where a test covers the executive's logic."""

    def __init__(self) -> None:
        self.robot = None

    def act(self, info, names):
        from embodied_collab.sim.oracle import OraclePolicy

        action = OraclePolicy().next_action(self.robot.env)
        return names.index(action), 0.9


class FakeCloudGate:
    """FAKE cloud backend for the router: reachable or not as the test says; never plans."""

    def __init__(self, available: bool = False) -> None:
        self.up = available
        self.calls = 0

    def available(self) -> bool:
        return self.up

    def plan(self, request, deadline):
        from embodied_collab.errors import LinkUnavailable

        self.calls += 1
        raise LinkUnavailable("fake cloud is unreachable")


def local_executive(tmp_path, *, time_scale: float = 50.0, navigator=None, **cfg_kwargs):
    """An executive with the fake cloud (down) and the fake oracle planner; returns it and the
    fake policy. ``navigator``: the ROS robot for ``navigation="ros"``."""
    cfg = ExecutiveConfig(journal_path=str(tmp_path / "journal.sqlite"), time_scale=time_scale,
                          **cfg_kwargs)
    policy = FakeOracleLocalPolicy()
    make = sim_robot_factory(cfg, navigator=navigator)

    def factory(m):
        policy.robot = make(m)
        return policy.robot

    from embodied_collab.executive.decisions import LocalDecider

    link = LinkConfig(offline_action="refuse", local_difficulties=tuple(DIFFICULTIES))
    router = Router(link, FakeCloudGate(False), LocalDecider(policy))
    return Executive(cfg, router=router, journal=Journal(cfg.journal_path),
                     robot_factory=factory), policy
