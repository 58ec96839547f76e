"""A second on-board acoustic model that checks what Whisper heard.

Whisper base sometimes hears a world word confidently wrong ("the white box" as "the black
box"); forced decoding by the same model then prefers its own mistake. A second model,
trained on other data with another architecture, makes other mistakes. This module runs
Moonshine base (English, MIT licence; its ONNX weights come inside the ``moonshine-cpp``
package) with ONNX Runtime:

- :meth:`SecondOpinion.word_scores` says how well each word of Whisper's transcript fits
  the sound (forced decoding);
- :meth:`SecondOpinion.score` gives the mean log-probability per token of candidate texts
  (all candidates in one batch).

The pipeline (``SpeechPipeline``, config ``second_opinion``) rechecks the world words the
second model doubts: the candidates that name another thing of the same kind
(:func:`~embodied_collab.speech.rescoring.slot_candidates`) are judged by the sum of both
models' scores (see ``docs/speech.md``).

The package ships the model in ONNX Runtime's own format with int8 weights that are
converted to float on every run; ONNX Runtime cannot fold those conversions in that
format. :func:`onnx_models` converts the files once into plain ONNX in the asset cache,
where it does: on this project's 2-core machine one decoder step went from 40 to 17 ms and
the encoder for 3 s of audio from 88 to 42 ms.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from embodied_collab.errors import ModelNotAvailable, require

logger = logging.getLogger(__name__)

#: The SentencePiece word-start mark.
_SPACE = "\u2581"
_BOS, _EOS = 1, 2
#: Ids 3..258 are the byte-fallback tokens <0x00>..<0xFF>; merged pieces start after them.
_FIRST_BYTE, _FIRST_PIECE = 3, 259
#: Leading tokens shared with the first text worth decoding from its cache (``_token_logprobs``).
_MIN_SHARED = 4
#: Files converted from the package's ORT format (name in the asset -> plain ONNX name).
_CONVERTED = {"encoder_model.ort": "encoder.onnx", "decoder_model_merged.ort": "decoder.onnx"}


class PieceTokenizer:
    """Moonshine's SentencePiece BPE tokenizer, read from the package's ``tokenizer.bin``.

    The file lists every token as a length-prefixed byte string, in id order; a merged
    piece's id is its merge rank, so encoding merges the adjacent pair whose merged piece
    has the lowest id until none is left, as SentencePiece BPE does.
    """

    def __init__(self, path: Path) -> None:
        data = Path(path).read_bytes()
        self.tokens: list[bytes] = []
        i = 0
        while i < len(data):
            n = data[i]
            i += 1
            if n >= 0x80:  # a two-byte length
                n = (n & 0x7F) | (data[i] << 7)
                i += 1
            self.tokens.append(data[i:i + n])
            i += n
        if len(self.tokens) <= _FIRST_PIECE or self.tokens[_BOS] != b"<s>":
            raise ModelNotAvailable(f"{path} is not a Moonshine tokenizer file")
        self.pieces: dict[str, int] = {}
        for k in range(_FIRST_PIECE, len(self.tokens)):
            try:
                self.pieces.setdefault(self.tokens[k].decode("utf-8"), k)
            except UnicodeDecodeError:
                continue

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no start or end token)."""
        parts = list(_SPACE + text.strip().replace(" ", _SPACE))
        while len(parts) > 1:
            ranks = [self.pieces.get(parts[j] + parts[j + 1]) for j in range(len(parts) - 1)]
            best = min((r, j) for j, r in enumerate(ranks) if r is not None) \
                if any(r is not None for r in ranks) else None
            if best is None:
                break
            j = best[1]
            parts[j:j + 2] = [parts[j] + parts[j + 1]]
        ids: list[int] = []
        for p in parts:
            if p in self.pieces:
                ids.append(self.pieces[p])
            else:
                ids += [_FIRST_BYTE + b for b in p.encode("utf-8")]
        return ids

    def decode(self, ids: list[int]) -> str:
        """The text of token ids (special tokens dropped)."""
        out = b"".join(self.tokens[i] if i >= _FIRST_PIECE else bytes([i - _FIRST_BYTE])
                       for i in ids if _FIRST_BYTE <= i < len(self.tokens))
        return out.decode("utf-8", "replace").replace(_SPACE, " ").strip()


def onnx_models(model_dir: Path) -> tuple[Path, Path]:
    """The encoder and decoder as plain ONNX files, converted once from the ORT-format files
    in ``model_dir`` (an assembled asset) and kept beside them.

    ONNX Runtime writes the graph it loaded (``optimized_model_filepath``, basic
    optimisations only, so nothing specific to this CPU); the decoder's branch subgraphs are
    then given the names ONNX requires.
    """
    ort = require("onnxruntime", "speech")
    onnx = require("onnx", "speech")
    out = []
    for src_name, dst_name in _CONVERTED.items():
        src, dst = model_dir / src_name, model_dir / dst_name
        out.append(dst)
        if dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime:
            continue
        t0 = time.perf_counter()
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")  # one per converting process
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = str(tmp)
        try:
            ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])
            model = onnx.load(str(tmp))
            _name_subgraphs(onnx, model.graph, dst.stem)
            onnx.save(model, str(tmp))
            tmp.replace(dst)
        finally:
            tmp.unlink(missing_ok=True)
        logger.info("converted %s to %s in %.1f s", src, dst.name, time.perf_counter() - t0)
    return out[0], out[1]


def _name_subgraphs(onnx: Any, graph: Any, name: str) -> None:
    if not graph.name:
        graph.name = name
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                _name_subgraphs(onnx, attr.g, f"{name}_{node.name}_{attr.name}")


class SecondOpinion:
    """Moonshine base (English) on ONNX Runtime: hears an utterance and scores candidates.

    Args:
        model: an installed asset name (``moonshine-base-en``) or a directory holding
            ``encoder_model.ort``, ``decoder_model_merged.ort`` and ``tokenizer.bin``.
        threads: ONNX Runtime intra-op threads.

    Raises:
        ModelNotAvailable: the package or a file is missing, or a hash does not match.
    """

    def __init__(self, model: str = "moonshine-base-en", threads: int = 1) -> None:
        from embodied_collab.assets import ASSETS, assemble

        ort = require("onnxruntime", "speech")
        path = assemble(model) if model in ASSETS else Path(model).expanduser()
        if not all((path / f).is_file() for f in (*_CONVERTED, "tokenizer.bin")):
            raise ModelNotAvailable(
                f"second-opinion model {model!r} is neither an installed asset "
                f"({sorted(ASSETS)}) nor a directory with {sorted(_CONVERTED)} and tokenizer.bin")
        t0 = time.perf_counter()
        enc_path, dec_path = onnx_models(path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        # no busy-waiting between runs: the cores go back to Whisper at once
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        self.encoder = ort.InferenceSession(str(enc_path), so, providers=providers)
        self.decoder = ort.InferenceSession(str(dec_path), so, providers=providers)
        self.tokenizer = PieceTokenizer(path / "tokenizer.bin")
        self._past = [i for i in self.decoder.get_inputs() if i.name.startswith("past_")]
        self._outputs = [o.name for o in self.decoder.get_outputs()]
        logger.info("loaded second-opinion model %s in %.2f s", path, time.perf_counter() - t0)

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """Encoder states of 16 kHz mono float32 audio."""
        return self.encoder.run(None, {"input_values": np.asarray(audio, np.float32)[None]})[0]

    def _feeds(self, ids: np.ndarray, states: np.ndarray) -> dict[str, np.ndarray]:
        batch = ids.shape[0]
        feeds = {i.name: np.zeros((batch, i.shape[1], 0, i.shape[3]), np.float32)
                 for i in self._past}
        feeds.update(input_ids=ids, encoder_hidden_states=states,
                     use_cache_branch=np.array([False]))
        return feeds

    def _run(self, seqs: list[list[int]], states: np.ndarray,
             past: dict[str, np.ndarray] | None = None, start: int = 0
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One decoder run over ``seqs[k][start:]`` (right-padded), after the cached keys and
        values ``past`` of the ``start`` tokens they share, if any: the logits, and the
        keys and values of all positions."""
        tails = [s[start:] for s in seqs]
        ids = np.zeros((len(tails), max(map(len, tails))), np.int64)
        for k, t in enumerate(tails):
            ids[k, :len(t)] = t
        feeds = self._feeds(ids, np.repeat(states, len(seqs), axis=0))
        if past is not None:
            feeds["use_cache_branch"] = np.array([True])
            for inp in self._past:
                value = past[inp.name.replace("past_key_values", "present")]
                if ".decoder." in inp.name:
                    value = value[:, :, :start]
                feeds[inp.name] = np.repeat(value, len(seqs), axis=0)
        res = self.decoder.run(None, feeds)
        return res[0], dict(zip(self._outputs[1:], res[1:], strict=True))

    def _token_logprobs(self, states: np.ndarray, texts: list[str]
                        ) -> list[tuple[list[int], np.ndarray]]:
        """Forced decoding of non-empty ``texts``: per text, its token ids (end token
        included) and the log-probability of each.

        Candidates mostly differ from the first text in one word: the first text is decoded
        alone, and each other text only from where it departs from it, from the first's
        cached keys and values (one batch per departure point)."""
        seqs = [[_BOS, *self.tokenizer.encode(t), _EOS] for t in texts]
        first_logits, past = self._run(seqs[:1], states)
        logits = [first_logits[0, :len(seqs[0]) - 1]] + [first_logits[0, :0]] * (len(seqs) - 1)
        departs: dict[int, list[int]] = {}
        for k, s in enumerate(seqs[1:], start=1):
            d = 0
            while d < min(len(s), len(seqs[0])) - 1 and s[d] == seqs[0][d]:
                d += 1
            departs.setdefault(d if d >= _MIN_SHARED else 0, []).append(k)
        for d, group in departs.items():
            tail, _ = self._run([seqs[k] for k in group], states, past if d else None, d)
            for j, k in enumerate(group):
                logits[k] = np.concatenate([first_logits[0, :d],
                                            tail[j, :len(seqs[k]) - 1 - d]])
        out = []
        for s, lg in zip(seqs, logits, strict=True):
            m = lg.max(axis=-1, keepdims=True)
            logp = lg - m - np.log(np.exp(lg - m).sum(axis=-1, keepdims=True))
            out.append((s[1:], logp[np.arange(len(s) - 1), s[1:]].astype(np.float64)))
        return out

    def score(self, states: np.ndarray, texts: list[str]) -> list[float]:
        """Forced decoding: the mean log-probability per token (end token included) of each
        of ``texts`` given the encoded utterance; ``-inf`` for an empty text."""
        out = [float("-inf")] * len(texts)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        if idx:
            for i, (_, logp) in zip(idx, self._token_logprobs(states, [texts[i] for i in idx]),
                                    strict=True):
                out[i] = float(np.mean(logp))
        return out

    def word_scores(self, states: np.ndarray, text: str) -> list[float]:
        """The log-probability of each word of ``text`` (split at spaces): the sum over
        its tokens, punctuation attached to a word counting with it."""
        words = text.split()
        if not words:
            return []
        ids, logp = self._token_logprobs(states, [text])[0]
        out = [0.0] * len(words)
        w = -1
        for tok, lp in zip(ids[:-1], logp[:-1], strict=True):
            if w < 0 or self.tokenizer.tokens[tok].startswith(_SPACE.encode("utf-8")):
                w = min(w + 1, len(words) - 1)
            out[w] += float(lp)
        return out
