"""Voice activity with silero-vad (ONNX) and a streaming segmenter that cuts utterances.

:class:`UtteranceSegmenter` is fed audio chunks of any length (microphone callbacks, ROS audio
messages, a file read in pieces) and returns each utterance once the speaker has paused for
``min_silence_ms``: utterances are cut by voice activity, not fixed windows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from embodied_collab.errors import require
from embodied_collab.speech.audio import SAMPLE_RATE
from embodied_collab.speech.config_speech import SpeechConfig

logger = logging.getLogger(__name__)

#: silero-vad frame at 16 kHz (32 ms).
FRAME = 512


class SileroVad:
    """Frame-level speech probabilities from silero-vad's bundled ONNX model (no download)."""

    def __init__(self) -> None:
        silero = require("silero_vad", "speech")
        self._model = silero.load_silero_vad(onnx=True)

    def reset(self) -> None:
        """Forget the recurrent state (call between independent streams)."""
        self._model.reset_states()

    def frame_prob(self, frame: np.ndarray) -> float:
        """Speech probability of one 512-sample 16 kHz frame."""
        import torch

        return float(self._model(torch.from_numpy(np.ascontiguousarray(frame)), SAMPLE_RATE))

    def probs(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities of every whole frame of ``audio`` (state reset first)."""
        self.reset()
        n = audio.size // FRAME
        return np.array([self.frame_prob(audio[i * FRAME:(i + 1) * FRAME]) for i in range(n)],
                        dtype=np.float32)


@dataclass
class Utterance:
    """One utterance cut from a stream.

    Attributes:
        audio: the samples (16 kHz float32), padded by ``speech_pad_ms`` on both sides.
        start_s: stream time of the first sample of ``audio``.
        speech_end_s: stream time of the end of the last voiced frame.
        detected_s: stream time at which the segmenter decided the utterance had ended.
        partial: True when cut by ``max_utterance_s`` or a flush, not by a pause.
        tentative: True for an early guess after ``speculative_ms`` of silence: the utterance
            may still go on; a final one (same ``speech_end_s`` if it did not) follows.
    """

    audio: np.ndarray
    start_s: float
    speech_end_s: float
    detected_s: float
    partial: bool = False
    tentative: bool = False

    @property
    def duration_s(self) -> float:
        return self.audio.size / SAMPLE_RATE


class UtteranceSegmenter:
    """Streaming VAD endpointer: ``feed(chunk)`` returns the utterances completed so far.

    Args:
        config: uses ``vad_threshold``, ``min_silence_ms``, ``speech_pad_ms``, ``min_speech_ms``
            and ``max_utterance_s``.
        vad: a :class:`SileroVad` to share (one is loaded otherwise).
    """

    def __init__(self, config: SpeechConfig | None = None, vad: SileroVad | None = None) -> None:
        self.config = config or SpeechConfig()
        self.vad = vad or SileroVad()
        ms = SAMPLE_RATE // 1000
        self._min_silence = max(1, int(self.config.min_silence_ms * ms) // FRAME)
        spec = int(self.config.speculative_ms * ms) // FRAME
        self._spec = spec if 0 < spec < self._min_silence else 0
        self._pad = int(self.config.speech_pad_ms * ms)
        self._min_speech = int(self.config.min_speech_ms * ms)
        self._max_len = int(self.config.max_utterance_s * SAMPLE_RATE)
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self.vad.reset()
        self._buf = np.zeros(0, np.float32)  # samples not yet framed
        self._history = np.zeros(0, np.float32)  # recent audio, for pre-roll and utterances
        self._hist_start = 0  # stream sample index of _history[0]
        self._pos = 0  # stream samples framed so far
        self._speech_start: int | None = None
        self._last_voiced_end = 0
        self._silent_frames = 0

    @property
    def in_speech(self) -> bool:
        """True while an utterance is open."""
        return self._speech_start is not None

    def current_audio(self) -> np.ndarray:
        """Audio of the utterance in progress (empty when none), e.g. for a partial decode."""
        if self._speech_start is None:
            return np.zeros(0, np.float32)
        return self._history[max(0, self._speech_start - self._pad - self._hist_start):]

    def feed(self, chunk: np.ndarray) -> list[Utterance]:
        """Add 16 kHz mono float samples; return the utterances that ended within them."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self._buf = np.concatenate([self._buf, chunk])
        self._history = np.concatenate([self._history, chunk])
        out: list[Utterance] = []
        n = self._buf.size // FRAME
        for i in range(n):
            frame = self._buf[i * FRAME:(i + 1) * FRAME]
            start = self._pos
            self._pos += FRAME
            voiced = self.vad.frame_prob(frame) >= self.config.vad_threshold
            utt = self._step(voiced, start)
            if utt is not None:
                out.append(utt)
        self._buf = self._buf[n * FRAME:]
        self._trim_history()
        return out

    def flush(self) -> list[Utterance]:
        """End of stream: return the open utterance (if any) as a partial one."""
        out = []
        if self._speech_start is not None:
            utt = self._close(self._pos, partial=True)
            if utt is not None:
                out.append(utt)
        self.reset()
        return out

    # -- internals ----------------------------------------------------------------------------
    def _step(self, voiced: bool, start: int) -> Utterance | None:
        if voiced:
            if self._speech_start is None:
                self._speech_start = start
            self._last_voiced_end = start + FRAME
            self._silent_frames = 0
            if self._pos - self._speech_start >= self._max_len:
                return self._close(self._pos, partial=True)
            return None
        if self._speech_start is None:
            return None
        self._silent_frames += 1
        if self._silent_frames >= self._min_silence:
            return self._close(self._pos, partial=False)
        if self._silent_frames == self._spec:
            return self._cut(self._pos, partial=False, tentative=True)
        return None

    def _close(self, now: int, *, partial: bool) -> Utterance | None:
        utt = self._cut(now, partial=partial, tentative=False)
        self._speech_start = None
        self._silent_frames = 0
        return utt

    def _cut(self, now: int, *, partial: bool, tentative: bool) -> Utterance | None:
        assert self._speech_start is not None
        if self._last_voiced_end - self._speech_start < self._min_speech:
            return None
        s0 = max(self._hist_start, self._speech_start - self._pad)
        s1 = min(now, self._last_voiced_end + self._pad)
        audio = self._history[s0 - self._hist_start:s1 - self._hist_start].copy()
        return Utterance(audio=audio, start_s=s0 / SAMPLE_RATE,
                         speech_end_s=self._last_voiced_end / SAMPLE_RATE,
                         detected_s=now / SAMPLE_RATE, partial=partial, tentative=tentative)

    def _trim_history(self) -> None:
        keep_from = self._pos - self._pad - FRAME
        if self._speech_start is not None:
            keep_from = min(keep_from, self._speech_start - self._pad)
        drop = keep_from - self._hist_start
        if drop > 0:
            self._history = self._history[drop:]
            self._hist_start += drop


def speech_segments(audio: np.ndarray, config: SpeechConfig | None = None,
                    vad: SileroVad | None = None) -> list[Utterance]:
    """All utterances of a whole recording (the same cutting as the streaming segmenter)."""
    seg = UtteranceSegmenter(config, vad)
    out = [u for u in seg.feed(audio) if not u.tentative]
    out += seg.flush()
    return out
