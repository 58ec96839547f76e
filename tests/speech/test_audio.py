"""Audio loading, mixing, resampling and validation (pure numpy/scipy/soundfile)."""

import numpy as np
import pytest
import soundfile as sf

from embodied_collab.errors import InvalidInputError
from embodied_collab.speech.audio import (
    SAMPLE_RATE,
    add_noise,
    check_audio,
    is_silent,
    load_audio,
    prepare,
    resample,
    to_float_mono,
)


def _tone(freq, rate, seconds=1.0, amp=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x, rate):
    spec = np.abs(np.fft.rfft(x))
    return np.fft.rfftfreq(x.size, 1 / rate)[int(np.argmax(spec))]


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resample_keeps_length_and_pitch(rate):
    y = resample(_tone(440.0, rate), rate)
    assert abs(y.size - SAMPLE_RATE) <= 1
    assert abs(_peak_hz(y, SAMPLE_RATE) - 440.0) < 2.0


def test_int16_stereo_to_float_mono():
    left = (_tone(300, 16000) * 32767).astype(np.int16)
    stereo = np.stack([left, left], axis=1)
    mono = to_float_mono(stereo)
    assert mono.dtype == np.float32 and mono.shape == (16000,)
    assert 0.45 < np.max(np.abs(mono)) < 0.55
    assert to_float_mono(stereo.T).shape == (16000,)  # (channels, frames) too


def test_bad_inputs_are_named():
    with pytest.raises(InvalidInputError, match="empty"):
        check_audio(np.zeros(0, np.float32), 16000)
    clipped = np.clip(_tone(200, 16000) * 10, -1, 1)
    with pytest.raises(InvalidInputError, match="clipped"):
        check_audio(clipped, 16000)
    with pytest.raises(InvalidInputError, match="NaN"):
        to_float_mono(np.array([0.0, np.nan, 0.1]))
    with pytest.raises(InvalidInputError, match="sample rate"):
        prepare(_tone(200, 16000), 1000)
    with pytest.raises(InvalidInputError, match="1-D"):
        to_float_mono(np.zeros((2, 2, 2)))


def test_silence_detected_and_mild_clipping_accepted():
    assert is_silent(np.zeros(16000, np.float32))
    assert not is_silent(_tone(200, 16000))
    mild = _tone(200, 16000)
    mild[:10] = 1.0  # a few samples at full scale is not "clipped"
    check_audio(mild, 16000)


def test_load_audio_files(tmp_path):
    good = tmp_path / "a.wav"
    sf.write(good, _tone(440, 22050), 22050, subtype="PCM_16")
    data, rate = load_audio(good)
    assert rate == 22050 and data.size == 22050
    bad = tmp_path / "b.wav"
    bad.write_text("not audio at all")
    with pytest.raises(InvalidInputError, match="not a readable audio file"):
        load_audio(bad)
    empty = tmp_path / "c.wav"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInputError, match="empty"):
        load_audio(empty)
    with pytest.raises(InvalidInputError, match="no such"):
        load_audio(tmp_path / "missing.wav")


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
def test_add_noise_hits_snr(kind):
    x = _tone(300, 16000, 2.0)
    y = add_noise(x, 10.0, np.random.default_rng(0), kind=kind)
    snr = 10 * np.log10(np.mean(x**2) / np.mean((y - x) ** 2))
    assert abs(snr - 10.0) < 0.5


def test_denoise_lowers_stationary_noise_and_keeps_length():
    from embodied_collab.speech.audio import SAMPLE_RATE, denoise

    rng = np.random.default_rng(0)
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * (t % 0.5 < 0.25)).astype(np.float32)
    noise = rng.normal(0, 0.05, t.size).astype(np.float32)
    out = denoise(tone + noise)
    assert out.shape == tone.shape and out.dtype == np.float32
    assert np.mean((out - tone) ** 2) < 0.5 * np.mean(noise ** 2)
    short = np.ones(100, np.float32)
    assert np.array_equal(denoise(short), short)
