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


@pytest.fixture(scope="session", autouse=True)
def onnx_export_cache(tmp_path_factory):
    """The detector's ONNX exports (one per weights, :mod:`embodied_collab.vision.runtime`) go
    to a temporary cache: the training smoke tests make new weights on every run, whose
    exports would otherwise pile up in the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMBODIED_COLLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield
