"""Where the ``sim`` detector's two networks run: PyTorch, or ONNX Runtime.

The networks are trained and stored as PyTorch checkpoints. For inference on one CPU core,
ONNX Runtime runs these small convolutional nets about twice as fast as eager PyTorch (it
fuses each convolution with its batch norm and activation, and has less per-operator
overhead). :func:`make_runner` exports a network to ONNX once, into the cache directory under
a name derived from the SHA-256 of the weights and the export settings (so retrained or user
weights get their own export and a stale one is never used), and loads it in an ONNX Runtime
session limited to the configured threads. Both runners take and return numpy arrays, so the
detector's code is the same either way. ``runtime: "auto"`` falls back to PyTorch, with one
log line saying why, when ``onnx`` / ``onnxruntime`` are not installed or the export fails.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embodied_collab.errors import DependencyNotInstalled
from embodied_collab.vision.config_vision import RUNTIMES

logger = logging.getLogger(__name__)

#: ONNX opset of the exports.
OPSET = 17


class TorchRunner:
    """Runs a ``torch.nn.Module`` on numpy inputs; returns numpy outputs (a tuple)."""

    name = "torch"

    def __init__(self, module: Any, num_threads: int = 1) -> None:
        import torch

        self.module, self.num_threads, self._torch = module.eval(), num_threads, torch

    def __call__(self, *inputs: np.ndarray) -> tuple[np.ndarray, ...]:
        torch = self._torch
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        with torch.inference_mode():
            out = self.module(*(torch.from_numpy(np.ascontiguousarray(a)) for a in inputs))
        out = out if isinstance(out, tuple) else (out,)
        return tuple(o.numpy() if o is not None else None for o in out)


class OrtRunner:
    """Runs an exported ONNX graph in an ONNX Runtime session (numpy in, numpy out)."""

    name = "onnxruntime"

    def __init__(self, path: Path, input_names: Sequence[str], num_threads: int = 1) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(int(num_threads), 0)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_names = list(input_names)
        self.path = path

    def __call__(self, *inputs: np.ndarray) -> tuple[np.ndarray, ...]:
        feed = {n: np.ascontiguousarray(a, dtype=np.float32)
                for n, a in zip(self.input_names, inputs, strict=True)}
        return tuple(self.session.run(None, feed))


def state_digest(module: Any) -> str:
    """SHA-256 of a module's parameters and buffers (names, shapes and values): the export
    cache key, so the same weights map to the same file wherever they were loaded from."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        a = t.detach().cpu().contiguous().numpy()
        h.update(f"{name}:{a.dtype}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def export_onnx(module: Any, examples: Sequence[np.ndarray], path: Path,
                input_names: Sequence[str], output_names: Sequence[str],
                dynamic_axes: dict[str, dict[int, str]] | None = None) -> Path:
    """Export ``module`` (in eval mode) to an ONNX file at ``path`` (written atomically).

    Raises:
        DependencyNotInstalled: without the ``onnx`` package (the exporter needs it).
    """
    import torch

    try:
        import onnx  # noqa: F401  (the exporter imports it; fail here with a clear message)
    except ImportError as exc:
        raise DependencyNotInstalled("onnx", "vision") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=path.parent)
    os.close(fd)
    try:
        with torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(module.eval(), tuple(torch.from_numpy(a) for a in examples), tmp,
                              input_names=list(input_names), output_names=list(output_names),
                              dynamic_axes=dynamic_axes, opset_version=OPSET, dynamo=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def make_runner(module: Any, examples: Sequence[np.ndarray], *, name: str,
                input_names: Sequence[str], output_names: Sequence[str],
                runtime: str = "auto", num_threads: int = 1,
                dynamic_axes: dict[str, dict[int, str]] | None = None,
                cache_dir: Path | None = None) -> TorchRunner | OrtRunner:
    """A runner for ``module``: ONNX Runtime on its cached export, or PyTorch.

    Args:
        module: the network (``torch.nn.Module``).
        examples: one numpy input per network input (for the export; the export is checked
            against PyTorch on random inputs of these shapes before it is used).
        name: a label for the export file name (``<name>-<digest>.onnx``).
        input_names, output_names: the network's inputs and outputs, in order.
        runtime: one of :data:`RUNTIMES`; ``"auto"`` = ONNX Runtime when it works, else PyTorch.
        num_threads: threads of the runtime (0 = its default).
        dynamic_axes: per input/output name, the axes whose size varies (``{0: "batch"}``;
            ``torch.onnx.export``'s format); all other sizes are fixed to the examples'.
        cache_dir: export directory (default ``<cache root>/vision-onnx``).

    Raises:
        ValueError: for an unknown ``runtime``.
        DependencyNotInstalled: for ``runtime="onnxruntime"`` without ``onnx`` /
            ``onnxruntime``.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {list(RUNTIMES)}, got {runtime!r}")
    torch_runner = TorchRunner(module, num_threads)
    if runtime == "torch":
        return torch_runner
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        if runtime == "onnxruntime":
            raise DependencyNotInstalled("onnxruntime", "vision") from exc
        logger.info("onnxruntime not installed: the %s network runs in PyTorch", name)
        return torch_runner
    import torch

    from embodied_collab.assets import cache_root

    # the file name depends on the weights and on everything that shapes the export
    settings = repr((list(input_names), list(output_names), dynamic_axes,
                     [a.shape for a in examples], OPSET, torch.__version__))
    key = hashlib.sha256((state_digest(module) + settings).encode()).hexdigest()[:16]
    path = (cache_dir or cache_root() / "vision-onnx") / f"{name}-{key}.onnx"
    try:
        if not path.is_file():
            export_onnx(module, examples, path, input_names, output_names, dynamic_axes)
        runner = OrtRunner(path, input_names, num_threads)
        rng = np.random.default_rng(0)  # checked on random inputs of the examples' shapes
        probe = [rng.uniform(-1.0, 1.0, np.shape(a)).astype(np.float32) for a in examples]
        got, want = runner(*probe), torch_runner(*probe)
        for g, w in zip(got, want, strict=True):
            if w is not None and not np.allclose(g, w, rtol=1e-3, atol=1e-3):
                raise RuntimeError(f"export differs from PyTorch by {np.abs(g - w).max():.3g}")
        return runner
    except Exception as exc:  # noqa: BLE001  (any export/runtime failure: fall back, say why)
        if runtime == "onnxruntime":
            raise
        logger.warning("the %s network runs in PyTorch: ONNX Runtime unavailable (%s)", name, exc)
        try:  # a broken export is not kept for the next start
            path.unlink(missing_ok=True)
        except OSError:
            pass
        return torch_runner
