"""Every validated SpeechConfig field rejects bad values with a ValueError naming it."""

import pytest

from embodied_collab.config import config_from_dict
from embodied_collab.errors import InvalidFileError
from embodied_collab.speech.config_speech import SpeechConfig

BAD = [
    ("model", ""),
    ("compute_type", "int3"),
    ("cpu_threads", 0),
    ("beam_size", 0),
    ("num_hypotheses", 2),  # > beam_size=1
    ("encoder_margin_s", -1.0),
    ("correction_cutoff", 0.0),
    ("vad_threshold", 1.0),
    ("min_silence_ms", 10),
    ("speculative_ms", 400),  # >= min_silence_ms
    ("speech_pad_ms", -1),
    ("min_speech_ms", -5),
    ("max_utterance_s", 60.0),
    ("clip_fraction", 0.0),
    ("ask_back_threshold", 1.5),
    ("embedding_min_similarity", 0.0),
    ("tts_backend", "festival"),
    ("tts_voice", ""),
    ("tts_speed", 3.0),
    ("language", "english"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_field_raises(name, value):
    with pytest.raises(ValueError, match=name):
        SpeechConfig(**{name: value})


def test_defaults_valid_and_from_dict():
    cfg = config_from_dict(SpeechConfig, {"beam_size": 3, "num_hypotheses": 3})
    assert cfg.beam_size == 3 and cfg.model == "whisper-base-ct2"
    with pytest.raises(InvalidFileError, match="unknown config key"):
        config_from_dict(SpeechConfig, {"beem_size": 3})
