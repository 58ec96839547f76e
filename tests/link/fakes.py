"""Fakes for unit tests of the link layer's pure logic (named as fakes; no real link here)."""

from embodied_collab.errors import LinkUnavailable
from embodied_collab.link.router import PlanResult


class FakeCloud:
    """A cloud gate whose availability and behaviour the test sets."""

    def __init__(self, available=True, fail=False):
        self.up = available
        self.fail = fail
        self.calls = []

    def available(self):
        return self.up

    def plan(self, request, deadline):
        self.calls.append(request.command_id)
        if self.fail:
            raise LinkUnavailable("fake cloud unreachable")
        return PlanResult(plan=["cloud plan"], confidence=None)


class FakeLocal:
    """A local planner with a fixed confidence (or an error)."""

    def __init__(self, confidence=0.9, error=None):
        self.confidence = confidence
        self.error = error
        self.calls = []

    def plan(self, request, deadline):
        self.calls.append(request.command_id)
        if self.error is not None:
            raise self.error
        return PlanResult(plan=["local plan"], confidence=self.confidence)
