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
    ("num_hypotheses", 4),  # > beam_size=3
    ("encoder_margin_s", -1.0),
    ("correction_cutoff", 0.0),
    ("rescore_candidates", 0),
    ("rescore_margin", -0.5),
    ("rescore_margin_oov", 11.0),
    ("second_opinion", None),
    ("second_opinion_doubt", 1.0),
    ("second_opinion_candidates", 0),
    ("second_opinion_margin", -0.1),
    ("vad_threshold", 1.0),
    ("min_silence_ms", 10),
    ("speculative_ms", 400),  # >= min_silence_ms
    ("speech_pad_ms", -1),
    ("min_speech_ms", -5),
    ("max_utterance_s", 60.0),
    ("merge_window_ms", -1),
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


@pytest.mark.parametrize(("name", "value"), [("audio_sample_rate", 100),
                                             ("world_seed", -2), ("world_path", 3)])
def test_speech_node_config_rejects_bad_values(name, value):
    from embodied_collab.speech.config_speech import SpeechNodeConfig

    with pytest.raises(ValueError, match=name):
        SpeechNodeConfig(**{name: value})
    with pytest.raises(ValueError, match="beam_size"):  # the core fields are validated too
        SpeechNodeConfig(beam_size=0)


def test_intent_message_fields_of_core_intents():
    pytest.importorskip("rclpy")
    from embodied_collab.ros.speech_node import intent_fields
    from embodied_collab.speech.grounding import Intent

    task = Intent("task", 0.9, "find the cup in the kitchen", verb="find",
                  slots={"object": "cup", "source": "kitchen", "source_room": "kitchen"})
    assert intent_fields(task) == {"text": task.text, "verb": "find", "object": "cup",
                                   "target": "kitchen", "confidence": 0.9}
    assert intent_fields(Intent("stop", 1.0, "stop"))["verb"] == "stop"
    assert intent_fields(Intent("unknown", 0.3, "hm", verb="go"))["verb"] == ""
