"""Router decisions for every policy and link state, capability gating and the offline queue
(fake backends and a fake clock: pure logic)."""

import pytest

from embodied_collab.link.clock import FakeClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.router import PlanRequest, Router
from tests.link.fakes import FakeCloud, FakeLocal

EASY = dict(difficulty="fetch")
HARD = dict(difficulty="attributes")


def make(policy, cloud_up=True, cloud_fail=False, conf=0.9, **kw):
    cfg = LinkConfig(policy=policy, **kw)
    cloud, local = FakeCloud(cloud_up, cloud_fail), FakeLocal(conf)
    return Router(cfg, cloud, local, FakeClock()), cloud, local


def req(i=1, **kw):
    return PlanRequest(command_id=f"c{i}", text="bring the red cup", **kw)


# (policy, cloud reachable, task, local confidence) -> served by / target
CASES = [
    ("quality-first", True, EASY, 0.9, "cloud"),
    ("quality-first", True, HARD, 0.9, "cloud"),
    ("quality-first", False, EASY, 0.9, "local"),
    ("quality-first", False, EASY, 0.1, "queue"),  # below offline_min_confidence
    ("quality-first", False, HARD, 0.9, "queue"),
    ("latency-first", True, EASY, 0.9, "local"),
    ("latency-first", True, EASY, 0.5, "cloud"),  # unsure: escalate
    ("latency-first", True, HARD, 0.9, "cloud"),
    ("latency-first", False, EASY, 0.5, "local"),  # unsure but offline: use it
    ("latency-first", False, EASY, 0.1, "queue"),
    ("latency-first", False, HARD, 0.9, "queue"),
    ("cost-first", True, EASY, 0.5, "local"),  # cheaper threshold
    ("cost-first", True, EASY, 0.3, "cloud"),
    ("cost-first", True, HARD, 0.9, "cloud"),
    ("cost-first", False, EASY, 0.3, "local"),
    ("cost-first", False, HARD, 0.9, "queue"),
]


@pytest.mark.parametrize(("policy", "up", "task", "conf", "expected"), CASES)
def test_policy_matrix(policy, up, task, conf, expected):
    router, cloud, local = make(policy, cloud_up=up, conf=conf)
    r = router.handle(req(**task))
    outcome = r.served_by or r.decision.target
    assert outcome == expected, r.steps
    assert r.decision.reason
    if expected == "queue":
        assert [q.command_id for q, _ in router.queued()] == ["c1"]
    if not up:
        assert cloud.calls == []  # never tried while unreachable


def test_cloud_failure_falls_back_to_local_when_capable():
    router, cloud, local = make("quality-first", cloud_fail=True)
    r = router.handle(req(**EASY))
    assert r.served_by == "local"
    assert [s.target for s in r.steps] == ["cloud", "local"]
    assert "cloud failed" in r.steps[1].reason


def test_cloud_failure_beyond_local_skills_is_queued_with_reason():
    router, cloud, local = make("quality-first", cloud_fail=True)
    r = router.handle(req(**HARD))
    assert r.decision.target == "queue"
    assert "beyond the on-board planner" in r.decision.reason
    assert local.calls == []


def test_skill_gating():
    router, _, _ = make("latency-first", cloud_up=False, local_skills=("navigate", "pick"))
    r = router.handle(req(skills=("navigate", "search")))
    assert r.decision.target == "queue"
    assert "['search']" in r.decision.reason


def test_refuse_mode_and_full_queue_refuse_never_drop():
    router, _, _ = make("quality-first", cloud_up=False, offline_action="refuse")
    r = router.handle(req(**HARD))
    assert r.decision.target == "refuse" and "cloud unreachable" in r.decision.reason
    router, _, _ = make("quality-first", cloud_up=False, max_queued=2)
    out = [router.handle(req(i, **HARD)).decision for i in range(3)]
    assert [d.target for d in out] == ["queue", "queue", "refuse"]
    assert "queue full" in out[2].reason


def test_escalation_failure_keeps_local_plan():
    router, cloud, _ = make("latency-first", cloud_fail=True, conf=0.5)
    r = router.handle(req(**EASY))
    assert r.served_by == "local"
    assert "escalation failed" in r.decision.reason


def test_local_planner_error_is_a_reason_not_a_crash():
    cfg = LinkConfig(policy="latency-first")
    broken = FakeLocal(error=RuntimeError("model broke"))
    router = Router(cfg, FakeCloud(True), broken, FakeClock())
    r = router.handle(req(**EASY))
    assert r.served_by == "cloud"
    router = Router(cfg, FakeCloud(False), FakeLocal(error=RuntimeError("model broke")),
                    FakeClock())
    r = router.handle(req(**EASY))
    assert r.decision.target == "queue" and "model broke" in r.decision.reason


def test_retry_queued_after_return_keeps_order_and_requeues():
    router, cloud, _ = make("quality-first", cloud_up=False)
    for i in range(3):
        router.handle(req(i, **HARD))
    assert len(router.queued()) == 3
    again = router.retry_queued()  # still offline: all stay queued
    assert [r.decision.target for r in again] == ["queue"] * 3
    assert [q.command_id for q, _ in router.queued()] == ["c0", "c1", "c2"]
    cloud.up = True
    seen = []
    done = router.retry_queued(on_result=seen.append)
    assert [r.served_by for r in done] == ["cloud"] * 3
    assert [r.request.command_id for r in seen] == ["c0", "c1", "c2"]
    assert router.queued() == []


def test_route_is_pure():
    router, cloud, local = make("quality-first")
    d = router.route(req(**EASY))
    assert d.target == "cloud" and cloud.calls == [] and local.calls == []


def test_bad_request_rejected():
    with pytest.raises(ValueError, match="difficulty"):
        PlanRequest(command_id="c", text="x", difficulty="impossible")
    with pytest.raises(ValueError, match="command_id"):
        PlanRequest(command_id="", text="x")
