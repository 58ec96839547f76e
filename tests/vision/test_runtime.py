"""The detector's inference runtimes: ONNX Runtime on a cached export of the real packaged
weights gives the same detections as PyTorch; the export is cached per weights; ``auto`` falls
back to PyTorch when ONNX Runtime is missing; the numpy decoder matches a plain reference."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from embodied_collab.errors import DependencyNotInstalled
from embodied_collab.vision.config_vision import VisionConfig
from embodied_collab.vision.detector import make_detector
from embodied_collab.vision.metrics import iou
from embodied_collab.vision.model import build_model, decode, to_input
from embodied_collab.vision.runtime import OrtRunner, TorchRunner, make_runner, state_digest


def _detections(config, samples):
    det = make_detector(config)
    return det, [det.detect(s.rgb, s.depth, s.intrinsics) for s in samples]


def test_onnxruntime_and_torch_give_the_same_detections(heldout_samples, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBODIED_COLLAB_CACHE", str(tmp_path))
    samples = heldout_samples[:6]
    ort_det, got = _detections(VisionConfig(runtime="onnxruntime"), samples)
    torch_det, want = _detections(VisionConfig(runtime="torch"), samples)
    assert (ort_det.runtime, torch_det.runtime) == ("onnxruntime", "torch")
    assert sorted(p.name for p in (tmp_path / "vision-onnx").iterdir()) == sorted(
        p.name for p in (tmp_path / "vision-onnx").glob("detector-*.onnx"))
    assert sum(map(len, want)) >= 6
    for g, w in zip(got, want, strict=True):
        assert [(d.label, d.colour) for d in g] == [(d.label, d.colour) for d in w]
        for a, b in zip(g, w, strict=True):
            assert abs(a.score - b.score) < 1e-3 and iou(a.box, b.box) > 0.99


def test_export_is_cached_per_weights(tmp_path):
    torch.manual_seed(0)
    net = build_model(3, 2, width=4).eval()
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 32, 48)).astype(np.float32)
    kw = dict(name="tiny", input_names=["image"], output_names=["maps"], runtime="onnxruntime",
              cache_dir=tmp_path)
    r1 = make_runner(net, [x], **kw)
    assert isinstance(r1, OrtRunner)
    files = list(tmp_path.glob("tiny-*.onnx"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    r2 = make_runner(net, [x], **kw)
    assert r2.path == files[0] and files[0].stat().st_mtime_ns == stamp  # reused, not re-exported
    with torch.no_grad():
        np.testing.assert_allclose(r2(x)[0], net(torch.from_numpy(x)).numpy(), atol=1e-4)
        for p in net.parameters():  # other weights: another export
            p.add_(0.01)
    make_runner(net, [x], **kw)
    assert len(list(tmp_path.glob("tiny-*.onnx"))) == 2


def test_state_digest_depends_on_values_not_object():
    torch.manual_seed(1)
    a = build_model(3, 2, width=4)
    b = build_model(3, 2, width=4)
    b.load_state_dict(a.state_dict())
    assert state_digest(a) == state_digest(b)
    with torch.no_grad():
        next(b.parameters()).mul_(2)
    assert state_digest(a) != state_digest(b)


def test_auto_falls_back_to_torch_without_onnxruntime(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    net = build_model(3, 2, width=4).eval()
    x = np.zeros((1, 3, 32, 48), np.float32)
    kw = dict(name="tiny", input_names=["image"], output_names=["maps"], cache_dir=tmp_path)
    with caplog.at_level("INFO"):
        runner = make_runner(net, [x], runtime="auto", **kw)
    assert isinstance(runner, TorchRunner) and "onnxruntime not installed" in caplog.text
    with pytest.raises(DependencyNotInstalled, match="onnxruntime"):
        make_runner(net, [x], runtime="onnxruntime", **kw)
    assert not list(tmp_path.iterdir())


def test_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="runtime must be one of"):
        VisionConfig(runtime="tensorrt")
    with pytest.raises(ValueError, match="runtime must be one of"):
        make_runner(build_model(3, 2, width=4), [np.zeros((1, 3, 32, 48), np.float32)],
                    name="x", input_names=["image"], output_names=["maps"], runtime="tvm")


def _reference_decode(out, n_classes, threshold, max_detections, image_size):
    """Plain per-cell loops: every 3x3 local maximum of the best class score, highest first."""
    hm = 1 / (1 + np.exp(-out[0, :n_classes].astype(np.float64)))
    best, cls = hm.max(0), hm.argmax(0)
    gh, gw = best.shape
    peaks = []
    for y in range(gh):
        for x in range(gw):
            win = best[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
            if best[y, x] >= win.max() and best[y, x] >= threshold:
                peaks.append((best[y, x], y, x))
    peaks.sort(reverse=True)
    H, W = image_size
    out_boxes = []
    for s, y, x in peaks[:max_detections]:
        ox, oy, lw, lh = out[0, -4:, y, x]
        cx, cy = (x + ox) * 4, (y + oy) * 4
        bw, bh = np.exp(min(lw, 5.0)) * 16, np.exp(min(lh, 5.0)) * 16
        out_boxes.append((int(cls[y, x]), float(s),
                          [max(cx - bw / 2, 0), max(cy - bh / 2, 0), min(cx + bw / 2, W),
                           min(cy + bh / 2, H)]))
    return out_boxes


def test_decode_matches_a_plain_reference(heldout_samples):
    det = make_detector(VisionConfig(runtime="torch"))
    for s in heldout_samples[:5]:
        with torch.inference_mode():
            out = det.model(to_input(s.rgb)).numpy()
        got = decode(out, len(det.categories), threshold=0.05, max_detections=20,
                     image_size=s.rgb.shape[:2])[0]
        want = _reference_decode(out, len(det.categories), 0.05, 20, s.rgb.shape[:2])
        assert len(got) == len(want) > 0
        unmatched = [(c, sc, b) for c, _, sc, _, b, _ in got]
        for c, sc, b in want:  # same peaks (ties may come in any order)
            hit = next((g for g in unmatched if g[0] == c and abs(g[1] - sc) < 1e-4
                        and np.abs(np.subtract(g[2], b)).max() < 1e-3), None)
            assert hit is not None, f"peak {(c, sc, b)} not decoded"
            unmatched.remove(hit)
        # a torch tensor input decodes the same as its numpy array
        assert decode(torch.from_numpy(out), len(det.categories), threshold=0.05,
                      max_detections=20, image_size=s.rgb.shape[:2])[0] == \
            decode(out, len(det.categories), threshold=0.05, max_detections=20,
                   image_size=s.rgb.shape[:2])[0]


def test_auto_falls_back_to_torch_when_the_cache_is_not_writable(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    net = build_model(3, 2, width=4).eval()
    x = np.zeros((1, 3, 32, 48), np.float32)
    with caplog.at_level("WARNING"):
        runner = make_runner(net, [x], name="tiny", input_names=["image"],
                             output_names=["maps"], runtime="auto", cache_dir=blocker / "sub")
    assert isinstance(runner, TorchRunner) and "runs in PyTorch" in caplog.text
    assert runner(x)[0].shape == (1, 3 + 2 + 4, 8, 12)


@pytest.mark.parametrize("shape", [(240, 320), (101, 157)])
def test_other_image_sizes_run_in_onnxruntime(heldout_samples, tmp_path, monkeypatch, shape):
    import cv2

    monkeypatch.setenv("EMBODIED_COLLAB_CACHE", str(tmp_path))
    s = heldout_samples[0]
    rgb = cv2.resize(s.rgb, shape[::-1], interpolation=cv2.INTER_LINEAR)
    got = make_detector(VisionConfig(runtime="onnxruntime")).detect(rgb)
    want = make_detector(VisionConfig(runtime="torch")).detect(rgb)
    assert [(d.label, d.colour) for d in got] == [(d.label, d.colour) for d in want]
    for a, b in zip(got, want, strict=True):
        assert abs(a.score - b.score) < 1e-3 and iou(a.box, b.box) > 0.99


def test_a_corrupt_cached_export_is_dropped_and_made_again(tmp_path, caplog):
    net = build_model(3, 2, width=4).eval()
    x = np.zeros((1, 3, 32, 48), np.float32)
    kw = dict(name="tiny", input_names=["image"], output_names=["maps"], runtime="auto",
              cache_dir=tmp_path)
    (path,) = [make_runner(net, [x], **kw).path]
    path.write_bytes(b"not an onnx graph")
    with caplog.at_level("WARNING"):
        assert isinstance(make_runner(net, [x], **kw), TorchRunner)
    assert "runs in PyTorch" in caplog.text and not path.exists()
    again = make_runner(net, [x], **kw)  # the next start exports it again
    assert isinstance(again, OrtRunner) and again.path == path
