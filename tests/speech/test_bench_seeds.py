"""``bench speech --seeds``: the real pipeline and model on two seeds' first utterances, pooled
(a short run: one utterance per seed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.models


def test_bench_over_two_seeds_prints_each_run_and_the_pooled_result():
    cmd = [sys.executable, "-m", "embodied_collab.cli.main", "bench", "speech", "--json",
           "--commands", "4", "--limit", "1", "--no-baseline", "--seeds", "5,6"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    assert sorted(res["runs"]) == ["5", "6"]
    assert all(r["utterances"] == 1 for r in res["runs"].values())
    pooled = res["pooled"]
    assert pooled["seeds"] == [5, 6] and pooled["utterances"] == 2
    ok = sum(r["counts"]["intents_ok"] for r in res["runs"].values())
    assert pooled["intent_accuracy"] == ok / 2
    words = sum(r["counts"]["word_errors"]["clean"][1] for r in res["runs"].values())
    assert words > 0  # the first utterance of each run is a clean one
    assert 0.0 <= pooled["word_accuracy"] <= 1.0
    errors = sum(r["counts"]["word_errors"]["clean"][0] for r in res["runs"].values())
    assert pooled["word_accuracy"] == round(1.0 - errors / words, 4)  # summed, not averaged


def test_only_is_refused_with_seeds():
    cmd = [sys.executable, "-m", "embodied_collab.cli.main", "bench", "speech", "--seeds",
           "5,6", "--only", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "--only names utterances of one seed" in out.stderr
    assert "Traceback" not in out.stderr
