"""Shared rendered frames for the vision tests (held-out worlds: the detector never saw them)."""

from __future__ import annotations

import pytest

from embodied_collab.vision import dataset


@pytest.fixture(scope="session")
def heldout_samples() -> list:
    """A few frames from unseen worlds, each showing at least one scored object."""
    out = []
    for s in dataset.iter_samples(dataset.split_seeds("heldout", 6), 8, seed=11):
        if any(b["scored"] for b in s.boxes):
            out.append(s)
    assert len(out) >= 10
    return out
