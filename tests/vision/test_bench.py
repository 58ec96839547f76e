"""The vision benchmark on a handful of held-out frames (real renderer, packaged weights)."""

from __future__ import annotations

from embodied_collab.vision.bench import run_bench


def test_bench_reports_accuracy_box_quality_and_first_stage_diagnostics():
    r = run_bench(frames=6, worlds=2, yolo=False)
    assert r["frames"] == 6 and r["objects_scored"] > 0
    assert 0.0 <= r["map50"] <= 1.0 and set(r["ap_per_class"]) == set(r["recall_per_class"])
    if r["matched_iou_p50"] is not None:
        assert 0.5 <= r["matched_iou_p50"] <= 1.0
    s1 = r["stage1"]
    assert 0.0 <= s1["agnostic_ap50"] <= s1["agnostic_ap30"] <= 1.0
    shares = s1["best_iou_ge_0.5"] + s1["best_iou_0.3_to_0.5"] + s1["best_iou_lt_0.3"]
    assert abs(shares - 1.0) < 0.01
    assert sum(v["objects"] for v in s1["found_by_box_side"].values()) == r["objects_scored"]
    assert r["forward_ms"]["stage1"]["min"] > 0
