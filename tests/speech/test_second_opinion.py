"""The second-opinion ASR model: the real Moonshine base from its package, on ONNX Runtime,
hearing speech synthesized by the real hibari-tts voice."""

import numpy as np
import pytest

from embodied_collab.assets import assemble
from embodied_collab.errors import ModelNotAvailable
from embodied_collab.speech.audio import resample
from embodied_collab.speech.config_speech import SpeechConfig
from embodied_collab.speech.second_opinion import PieceTokenizer, SecondOpinion, onnx_models
from embodied_collab.speech.tts import Speaker

pytestmark = pytest.mark.models

SAID = "Put the black flask in the kitchen."
MISHEARD = "Put the blue flask in the kitchen."


@pytest.fixture(scope="module")
def second():
    return SecondOpinion()


@pytest.fixture(scope="module")
def states(second):
    speaker = Speaker(SpeechConfig())
    return second.encode(resample(speaker.say(SAID), speaker.sample_rate))


def test_tokenizer_matches_the_models_own_pieces(second):
    tok = second.tokenizer
    ids = tok.encode("Bring the red cup from the kitchen table.")
    assert ids == [1771, 292, 278, 2654, 18002, 515, 278, 29181, 1591, 29889]
    assert tok.decode(ids) == "Bring the red cup from the kitchen table."
    # characters that no piece holds fall back to bytes, and come back whole
    assert tok.decode(tok.encode("naïve ☃ robot")) == "naïve ☃ robot"


def test_forced_decoding_prefers_what_was_said(second, states):
    right, wrong, empty = second.score(states, [SAID, MISHEARD, " "])
    assert right > wrong and empty == float("-inf")
    # a batch decodes each candidate from where it departs from the first text (its cached
    # start): the same scores as decoding each alone
    batch = [SAID, "Put the black flask in the bedroom.", MISHEARD, "Stop."]
    alone = [second.score(states, [t])[0] for t in batch]
    assert second.score(states, batch) == pytest.approx(alone, abs=1e-4)
    assert alone[0] == max(alone)
    fits = second.word_scores(states, MISHEARD)
    assert len(fits) == len(MISHEARD.split())
    assert int(np.argmin(fits)) == 2  # "blue" fits the sound worst
    assert second.word_scores(states, "") == []


def test_converted_once_and_bad_model_paths_are_named(tmp_path):
    path = assemble("moonshine-base-en")
    first = [p.stat().st_mtime_ns for p in onnx_models(path)]
    assert [p.stat().st_mtime_ns for p in onnx_models(path)] == first  # kept, not redone
    with pytest.raises(ModelNotAvailable, match="neither an installed asset"):
        SecondOpinion(str(tmp_path))
    (tmp_path / "tokenizer.bin").write_bytes(b"\x03abc")
    with pytest.raises(ModelNotAvailable, match="not a Moonshine tokenizer"):
        PieceTokenizer(tmp_path / "tokenizer.bin")
