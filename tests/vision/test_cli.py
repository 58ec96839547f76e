"""``embodied-collab detect`` on real files: good image, and clear errors for bad ones."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from embodied_collab.vision import dataset


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embodied_collab.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


def test_detect_json_on_a_rendered_frame(tmp_path, heldout_samples):
    import imageio.v2 as iio

    s = max(heldout_samples, key=lambda s: sum(b["scored"] for b in s.boxes))
    path = tmp_path / "frame.png"
    iio.imwrite(path, s.rgb)
    r = _run("detect", str(path), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"detections", "latency_ms"}
    assert out["detections"], out
    for d in out["detections"]:
        assert set(d) == {"label", "colour", "score", "box"}
        assert d["label"] in dataset.CATEGORIES and d["colour"] in dataset.COLOURS


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (b"hello, not pixels", "not a decodable image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a decodable image"),
])
def test_bad_images_give_clear_errors(tmp_path, content, match):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    r = _run("detect", str(path), "--json")
    assert r.returncode != 0
    assert match in r.stderr and "Traceback" not in r.stderr


def test_missing_file_is_named(tmp_path):
    r = _run("detect", str(tmp_path / "nope.png"))
    assert r.returncode != 0 and "not found" in r.stderr and "Traceback" not in r.stderr


def test_bench_names_missing_weights(tmp_path):
    r = _run("bench", "vision", "--json", "--frames", "2", "--no-yolo",
             "--weights", str(tmp_path / "none.pt"))
    assert r.returncode != 0 and "none.pt" in r.stderr and "Traceback" not in r.stderr
