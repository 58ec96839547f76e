"""The streaming segmenter with the real silero-vad model (ONNX, from its package)."""

import numpy as np
import pytest

from embodied_collab.speech.audio import SAMPLE_RATE, resample
from embodied_collab.speech.config_speech import SpeechConfig
from embodied_collab.speech.vad import SileroVad, UtteranceSegmenter, speech_segments

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def speech():
    from hibari import Hibari

    tts = Hibari()
    audio = resample(tts("Put the green apple on the sofa.", seed=0), tts.sample_rate)
    voiced = np.nonzero(np.abs(audio) > 0.02 * np.max(np.abs(audio)))[0]
    return audio[voiced[0]:voiced[-1] + 800]  # the voice only, no silence around it


def test_two_utterances_with_tentative_first(speech):
    gap = np.zeros(SAMPLE_RATE, np.float32)
    stream = np.concatenate([gap, speech, gap, speech, gap[: SAMPLE_RATE // 2]])
    seg = UtteranceSegmenter(SpeechConfig(), SileroVad())
    events = []
    for i in range(0, stream.size, 480):  # 30 ms chunks, not a multiple of the VAD frame
        events += seg.feed(stream[i:i + 480])
    events += seg.flush()
    finals = [u for u in events if not u.tentative]
    assert len(finals) == 2
    assert any(u.tentative for u in events)
    first = finals[0]
    voiced = np.nonzero(np.abs(speech) > 0.02 * np.max(np.abs(speech)))[0] / SAMPLE_RATE
    onset, offset = 1.0 + voiced[0], 1.0 + voiced[-1]
    assert first.start_s == pytest.approx(onset - 0.16, abs=0.15)  # 160 ms pre-roll
    assert first.speech_end_s == pytest.approx(offset, abs=0.2)
    assert first.detected_s - first.speech_end_s == pytest.approx(0.4, abs=0.07)
    assert finals[1].start_s > first.detected_s


def test_flush_returns_open_utterance_and_silence_none(speech):
    seg = UtteranceSegmenter(SpeechConfig(), SileroVad())
    assert seg.feed(np.zeros(SAMPLE_RATE, np.float32)) == []
    closed = [u for u in seg.feed(speech) if not u.tentative]
    assert closed == [] and seg.in_speech  # no 400 ms pause inside one short sentence
    assert seg.current_audio().size > 0
    rest = seg.flush()
    assert len(rest) == 1 and rest[0].partial and not seg.in_speech
    assert speech_segments(np.zeros(2 * SAMPLE_RATE, np.float32)) == []
    assert len(speech_segments(speech, SpeechConfig(min_silence_ms=2000, speculative_ms=0))) == 1
