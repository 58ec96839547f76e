"""Speech-to-text with faster-whisper (CTranslate2 Whisper), loaded offline, int8 on CPU.

Short commands get a fast path: the encoder sees only the speech plus a short margin instead of
Whisper's fixed 30 s window (the encoder is most of the cost), decoding is greedy or a small beam
without timestamps, and an initial prompt lists the world's vocabulary. The plain
faster-whisper call (:meth:`Transcriber.transcribe_plain`) is kept as the measured baseline.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embodied_collab.errors import ModelNotAvailable, require
from embodied_collab.speech.audio import SAMPLE_RATE
from embodied_collab.speech.config_speech import SpeechConfig

logger = logging.getLogger(__name__)

#: Longest audio Whisper takes in one window.
WINDOW_S = 30
_FRAMES_PER_S = 100
_MAX_PROMPT_TOKENS = 200


@dataclass
class Transcript:
    """ASR output: the best text, the n-best list ``(text, log-prob score)``, decode time, and
    the encoder output (``encoded``, frames ``frames``) that :meth:`Transcriber.score` reuses."""

    text: str
    hypotheses: list[tuple[str, float]] = field(default_factory=list)
    decode_s: float = 0.0
    audio_s: float = 0.0
    encoded: np.ndarray | None = field(default=None, repr=False, compare=False)
    frames: int = 0


def resolve_model(model: str) -> Path:
    """An installed asset name (``whisper-base-ct2``) or a model directory -> its path.

    Raises:
        ModelNotAvailable: neither an asset nor a directory holding ``model.bin``.
    """
    from embodied_collab.assets import ASSETS, assemble

    if model in ASSETS:
        return assemble(model)
    path = Path(model).expanduser()
    if (path / "model.bin").is_file():
        return path
    raise ModelNotAvailable(
        f"ASR model {model!r} is neither an installed asset ({sorted(ASSETS)}) nor a "
        "CTranslate2 Whisper directory with model.bin"
    )


def trim_repetition(text: str) -> str:
    """Cut the loops a decoder falls into on short inputs: ``"Stop. Stop. Stop."`` -> ``Stop.``.

    A tail that repeats the text from its start (period ``p``) is cut when it starts after a
    sentence end or repeats at least one whole period. Words are compared without apostrophes
    and a plural or possessive ``s`` (a loop may write "bathroom's" once and "bathrooms" the
    next time).
    """
    toks = text.split()
    norm = [re.sub(r"[^a-z0-9]", "", t.lower()).removesuffix("s") for t in toks]
    n = len(toks)
    for p in range(1, n):
        # the last word of a loop cut by the length budget may be cut short ("funga j")
        if all(norm[j] == norm[j - p] or (j == n - 1 and norm[j - p].startswith(norm[j]))
               for j in range(p, n)):
            if toks[p - 1][-1:] in ".!?" or n - p >= p:
                return " ".join(toks[:p])
            break
    return text


class Transcriber:
    """One loaded Whisper model.

    Args:
        config: ``model``, ``compute_type``, ``cpu_threads``, ``beam_size``, ``num_hypotheses``,
            ``trim_encoder``, ``encoder_margin_s``, ``language``.
    """

    def __init__(self, config: SpeechConfig | None = None) -> None:
        self.config = config or SpeechConfig()
        fw = require("faster_whisper", "speech")
        path = resolve_model(self.config.model)
        t0 = time.perf_counter()
        self.model = fw.WhisperModel(str(path), device="cpu",
                                     compute_type=self.config.compute_type,
                                     cpu_threads=self.config.cpu_threads, num_workers=1)
        from faster_whisper.tokenizer import Tokenizer

        self.tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                   task="transcribe", language=self.config.language)
        logger.info("loaded ASR model %s in %.2f s", path, time.perf_counter() - t0)

    def _prompt_tokens(self, prompt: str | None) -> list[int]:
        tok = self.tokenizer
        out: list[int] = []
        if prompt:
            out = [tok.sot_prev] + tok.encode(" " + prompt.strip())[-_MAX_PROMPT_TOKENS:]
        return out + list(tok.sot_sequence) + [tok.no_timestamps]

    def transcribe(self, audio: np.ndarray, prompt: str | None = None) -> Transcript:
        """Transcribe one utterance (16 kHz mono float32, at most 30 s) with the fast path."""
        import ctranslate2

        t0 = time.perf_counter()
        audio_s = audio.size / SAMPLE_RATE
        audio = audio[: WINDOW_S * SAMPLE_RATE]
        if self.config.trim_encoder:
            seconds = min(WINDOW_S, math.ceil(audio.size / SAMPLE_RATE
                                              + self.config.encoder_margin_s))
        else:
            seconds = WINDOW_S
        padded = np.zeros(seconds * SAMPLE_RATE, np.float32)
        padded[: audio.size] = audio
        feats = self.model.feature_extractor(padded, padding=0)[:, : seconds * _FRAMES_PER_S]
        feats = np.ascontiguousarray(feats[None], dtype=np.float32)
        enc = self.model.model.encode(ctranslate2.StorageView.from_array(feats), to_cpu=True)
        prompt_ids = self._prompt_tokens(prompt)
        budget = int(8 * max(audio_s, 0.5) + 12)
        res = self.model.model.generate(
            enc, [prompt_ids], beam_size=self.config.beam_size,
            num_hypotheses=self.config.num_hypotheses, return_scores=True,
            max_length=len(prompt_ids) + budget, suppress_blank=True, suppress_tokens=[-1],
        )[0]
        eot = self.tokenizer.eot
        hyps = []
        for ids, score in zip(res.sequences_ids, res.scores, strict=True):
            text = self.tokenizer.decode([t for t in ids if t < eot]).strip()
            hyps.append((trim_repetition(text), float(score)))
        hyps.sort(key=lambda h: -h[1])
        text = hyps[0][0] if hyps else ""
        return Transcript(text, hyps, time.perf_counter() - t0, audio_s,
                          encoded=np.asarray(enc), frames=seconds * _FRAMES_PER_S)

    def score(self, transcript: Transcript, texts: list[str]) -> list[float]:
        """Forced decoding: the mean log-probability per token of each of ``texts`` given the
        audio of ``transcript`` (its encoder output is reused; no prompt, so candidates are
        judged by the sound alone). Higher is more likely; comparable across ``texts``.

        Raises:
            ValueError: ``transcript`` was not made by :meth:`transcribe` (no encoder output).
        """
        import ctranslate2

        if transcript.encoded is None:
            raise ValueError("score needs a transcript from Transcriber.transcribe "
                             "(it holds the encoder output)")
        texts = [t.strip() for t in texts]
        out = [float("-inf")] * len(texts)
        idx = [i for i, t in enumerate(texts) if t]
        if not idx:
            return out
        tokens = [self.tokenizer.encode(" " + texts[i]) for i in idx]
        enc = np.repeat(transcript.encoded, len(idx), axis=0)
        start = list(self.tokenizer.sot_sequence) + [self.tokenizer.no_timestamps]
        res = self.model.model.align(ctranslate2.StorageView.from_array(enc), start, tokens,
                                     [transcript.frames] * len(idx))
        for i, r in zip(idx, res, strict=True):
            probs = np.clip(np.asarray(r.text_token_probs, np.float64), 1e-12, 1.0)
            out[i] = float(np.mean(np.log(probs))) if probs.size else float("-inf")
        return out

    def transcribe_plain(self, audio: np.ndarray, beam_size: int = 5) -> Transcript:
        """Plain faster-whisper (beam 5, no prompt, no VAD, 30 s window): the baseline."""
        t0 = time.perf_counter()
        segments, _ = self.model.transcribe(audio, language=self.config.language,
                                            beam_size=beam_size, vad_filter=False)
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text, [(text, 0.0)], time.perf_counter() - t0, audio.size / SAMPLE_RATE)
