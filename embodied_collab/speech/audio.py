"""Audio input: reading files, mixing to mono, resampling to 16 kHz, and rejecting bad input."""

from __future__ import annotations

import logging
from math import gcd
from pathlib import Path

import numpy as np

from embodied_collab.errors import InvalidInputError

logger = logging.getLogger(__name__)

#: The rate every model of the speech component works at.
SAMPLE_RATE = 16000
#: Lowest and highest input rates accepted (telephone to studio).
MIN_RATE, MAX_RATE = 4000, 384000
#: RMS below this (about -60 dBFS) counts as silence.
SILENCE_RMS = 1e-3


def to_float_mono(audio: np.ndarray) -> np.ndarray:
    """Integer or float samples, ``(n,)`` or ``(n, channels)``, to float32 mono in [-1, 1].

    Raises:
        InvalidInputError: the array is not 1-D/2-D numeric audio, or holds NaN/inf.
    """
    a = np.asarray(audio)
    if a.ndim == 2:
        # soundfile gives (frames, channels); accept (channels, frames) for few channels too
        if a.shape[0] <= 8 < a.shape[1]:
            a = a.T
    elif a.ndim != 1:
        raise InvalidInputError(f"audio must be 1-D or (frames, channels), got shape {a.shape}")
    if a.dtype.kind in "iu":
        info = np.iinfo(a.dtype)
        scale = max(abs(info.min), info.max)
        a = a.astype(np.float32) / scale
        if info.min == 0:  # unsigned (8-bit WAV): centre it
            a = a * 2.0 - 1.0
    elif a.dtype.kind == "f":
        a = a.astype(np.float32, copy=False)
    else:
        raise InvalidInputError(f"audio samples must be numbers, got dtype {a.dtype}")
    if a.ndim == 2:
        a = a.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(a)):
        raise InvalidInputError("audio holds NaN or infinite samples")
    return np.ascontiguousarray(a, dtype=np.float32)


def resample(audio: np.ndarray, sample_rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample mono float audio from ``sample_rate`` to ``target`` (polyphase, anti-aliased).

    Raises:
        InvalidInputError: the rate is outside [4 kHz, 384 kHz].
    """
    if not isinstance(sample_rate, (int, np.integer)) or not MIN_RATE <= sample_rate <= MAX_RATE:
        raise InvalidInputError(
            f"sample rate {sample_rate!r} Hz is not supported (expected {MIN_RATE}-{MAX_RATE})"
        )
    sample_rate = int(sample_rate)
    if sample_rate == target or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(sample_rate, target)
    return resample_poly(audio, target // g, sample_rate // g).astype(np.float32)


def check_audio(audio: np.ndarray, sample_rate: int, *, clip_fraction: float = 0.05) -> None:
    """Raise :class:`InvalidInputError` for audio that cannot be transcribed.

    Empty input and badly clipped input are errors; silence is not (it gives an empty result).
    """
    if audio.size == 0:
        raise InvalidInputError("audio is empty (zero samples)")
    if audio.size < sample_rate // 100:
        raise InvalidInputError(f"audio is too short ({audio.size} samples at {sample_rate} Hz)")
    peak = float(np.max(np.abs(audio)))
    if peak >= 0.999:
        clipped = float(np.mean(np.abs(audio) >= 0.999))
        if clipped > clip_fraction:
            raise InvalidInputError(
                f"audio is clipped: {clipped:.1%} of samples are at full scale "
                f"(more than {clip_fraction:.0%}); lower the input gain"
            )


def is_silent(audio: np.ndarray) -> bool:
    """True when the whole signal is below about -60 dBFS RMS."""
    return audio.size == 0 or float(np.sqrt(np.mean(np.square(audio)))) < SILENCE_RMS


def prepare(audio: np.ndarray, sample_rate: int, *, clip_fraction: float = 0.05) -> np.ndarray:
    """Any samples at any common rate -> checked float32 mono at 16 kHz."""
    mono = to_float_mono(audio)
    check_audio(mono, int(sample_rate), clip_fraction=clip_fraction)
    return resample(mono, int(sample_rate))


def load_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file (WAV, FLAC, OGG, ... anything libsndfile reads).

    Returns:
        ``(samples, sample_rate)`` with samples float32, ``(frames,)`` or ``(frames, channels)``.

    Raises:
        InvalidInputError: missing file, or not a readable audio file.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"{path}: file is empty (zero bytes)")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except (RuntimeError, sf.LibsndfileError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"{path}: not a readable audio file ({exc})") from exc
    if data.size == 0:
        raise InvalidInputError(f"{path}: audio is empty (zero frames)")
    return data, int(rate)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write float audio as 16-bit PCM WAV."""
    import soundfile as sf

    sf.write(str(path), np.clip(audio, -1.0, 1.0), int(sample_rate), subtype="PCM_16")
    return Path(path)


def add_noise(
    audio: np.ndarray, snr_db: float, rng: np.random.Generator, *, kind: str = "pink"
) -> np.ndarray:
    """Mix noise into ``audio`` at ``snr_db`` (power over the voiced part of ``audio``).

    ``kind`` is ``white``, ``pink`` (1/f, like fans and rooms) or ``babble`` (speech-shaped,
    amplitude-modulated noise, like a television in the next room).
    """
    n = audio.size
    white = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        noise = white
    else:
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
        f[0] = f[1]
        if kind == "pink":
            shape = 1.0 / np.sqrt(f)
        elif kind == "babble":
            shape = np.exp(-0.5 * ((np.log(f) - np.log(500.0)) / 0.8) ** 2)
        else:
            raise ValueError(f"noise kind must be white, pink or babble, got {kind!r}")
        noise = np.fft.irfft(spec * shape, n).astype(np.float32)
        if kind == "babble":
            t = np.arange(n) / SAMPLE_RATE
            noise *= 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t + rng.uniform(0, 6.28))
    voiced = np.abs(audio) > 0.02 * (np.max(np.abs(audio)) + 1e-9)
    p_sig = float(np.mean(np.square(audio[voiced]))) if voiced.any() else 1e-6
    p_noise = float(np.mean(np.square(noise))) + 1e-12
    noise *= np.sqrt(p_sig / (p_noise * 10 ** (snr_db / 10.0)))
    return (audio + noise).astype(np.float32)


def microphone_chunks(*, sample_rate: int = SAMPLE_RATE, block_s: float = 0.064,
                      max_s: float | None = None, timeout_s: float = 2.0):
    """Yield float32 mono blocks from the default microphone (needs ``sounddevice``).

    Args:
        sample_rate: capture rate (16 kHz avoids resampling).
        block_s: seconds per block.
        max_s: stop after this many seconds (None: until the caller stops iterating).
        timeout_s: longest wait for one block before giving up.

    Raises:
        DependencyNotInstalled: sounddevice (or its PortAudio library) is missing.
        InvalidInputError: the microphone delivered nothing within ``timeout_s``.
    """
    from embodied_collab.errors import DependencyNotInstalled

    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise DependencyNotInstalled("sounddevice", "mic") from exc
    return _mic_blocks(sd, sample_rate, block_s, max_s, timeout_s)


def _mic_blocks(sd, sample_rate: int, block_s: float, max_s: float | None, timeout_s: float):
    import queue

    blocks: queue.Queue[np.ndarray] = queue.Queue()
    frames = int(block_s * sample_rate)

    def _callback(indata, _frames, _time, status):  # runs on the audio thread
        if status:
            logger.warning("microphone: %s", status)
        blocks.put(indata[:, 0].astype(np.float32).copy())

    got = 0.0
    with sd.InputStream(samplerate=sample_rate, channels=1, blocksize=frames,
                        dtype="float32", callback=_callback):
        while max_s is None or got < max_s:
            try:
                block = blocks.get(timeout=timeout_s)
            except queue.Empty as exc:
                raise InvalidInputError(f"no audio from the microphone in {timeout_s} s") from exc
            got += block.size / sample_rate
            yield block


def denoise(audio: np.ndarray, *, strength: float = 1.0, floor: float = 0.15,
            frame: int = 512, hop: int = 128) -> np.ndarray:
    """Light Wiener-style denoising of one utterance (16 kHz mono float32).

    The noise spectrum is estimated by minimum statistics (the 10th percentile of each
    frequency bin's power over the utterance's frames, bias-corrected: speech comes and goes,
    stationary noise stays), and each bin is scaled by
    ``max(floor, 1 - strength * noise / power)``. The gain floor keeps the musical-noise
    artefacts that hurt ASR small.

    Args:
        audio: samples at 16 kHz.
        strength: over-subtraction factor (1 = plain Wiener-like gain).
        floor: lowest gain per bin.
        frame, hop: STFT frame and hop in samples.

    Returns:
        The denoised audio, same length; input shorter than 8 frames comes back unchanged.
    """
    x = np.asarray(audio, np.float32)
    if x.size < frame * 8:
        return x
    from scipy.signal import istft, stft

    _, _, spec = stft(x, nperseg=frame, noverlap=frame - hop, boundary="zeros", padded=True)
    power = np.abs(spec) ** 2
    # a bin's power over noise-only frames is exponential: its 10th percentile is 0.105x the mean
    noise = np.percentile(power, 10, axis=1, keepdims=True) / 0.105
    gain = np.maximum(floor, 1.0 - strength * noise / np.maximum(power, 1e-12))
    _, y = istft(spec * gain, nperseg=frame, noverlap=frame - hop, boundary=True)
    return y[: x.size].astype(np.float32)
