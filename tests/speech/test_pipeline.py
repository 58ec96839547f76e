"""The real speech pipeline: silero-vad + faster-whisper base + grounding on generated speech.

Audio is synthesized with the real hibari-tts voice; the ASR model is the real Whisper base
assembled from its packages. One pipeline is shared by the module to keep this under a minute.
"""

import json

import numpy as np
import pytest

from embodied_collab.assets import assemble
from embodied_collab.errors import InvalidInputError, ModelNotAvailable
from embodied_collab.sim.generate import generate_task
from embodied_collab.speech.asr import Transcript, resolve_model, trim_repetition
from embodied_collab.speech.audio import SAMPLE_RATE, resample, write_wav
from embodied_collab.speech.bench import word_errors
from embodied_collab.speech.config_speech import SpeechConfig
from embodied_collab.speech.rescoring import sentence
from embodied_collab.speech.tts import Speaker, reply_for

pytestmark = pytest.mark.models

COMMAND = "Bring the red cup from the kitchen table to the desk in the office."


@pytest.fixture(scope="module")
def speaker():
    return Speaker(SpeechConfig())


@pytest.fixture(scope="module")
def pipeline():
    from embodied_collab.speech.pipeline import SpeechPipeline

    return SpeechPipeline(SpeechConfig())


def _silence(s):
    return np.zeros(int(s * SAMPLE_RATE), np.float32)


def _speech16(speaker, text):
    return resample(speaker.say(text), speaker.sample_rate)


def test_transcribe_any_rate_and_channels(pipeline, speaker):
    audio = speaker.say(COMMAND)  # 24 kHz
    stereo = np.stack([audio, audio], axis=1)
    pcm = (np.clip(stereo, -1, 1) * 32767).astype(np.int16)
    res = pipeline.transcribe(pcm, speaker.sample_rate)
    errors, n = word_errors(COMMAND, res.text)
    assert errors <= 1, res.text
    assert res.intent.kind == "task" and res.intent.verb == "bring"
    assert res.intent.slots["object"] == "cup" and res.intent.slots["target_room"] == "office"
    assert res.audio_s == pytest.approx(audio.size / speaker.sample_rate, abs=0.01)
    d = res.to_dict()
    assert set(d) >= {"text", "intent", "confidence", "audio_s", "latency_s"}


def test_silence_gives_empty_result_and_clipping_an_error(pipeline):
    res = pipeline.transcribe(_silence(1.5), SAMPLE_RATE)
    assert res.text == "" and res.intent.kind == "unknown" and res.intent.ask_back
    noise = np.random.default_rng(0).normal(0, 0.003, SAMPLE_RATE).astype(np.float32)
    assert pipeline.transcribe(noise, SAMPLE_RATE).text == ""  # faint hiss: no speech
    loud = np.clip(np.sin(np.arange(SAMPLE_RATE) * 0.05) * 20, -1, 1).astype(np.float32)
    with pytest.raises(InvalidInputError, match="clipped"):
        pipeline.transcribe(loud, SAMPLE_RATE)


def test_stream_cut_by_vad_with_stop(pipeline, speaker):
    a = _speech16(speaker, "Go to the kitchen.")
    b = _speech16(speaker, "Stop!")
    stream = np.concatenate([_silence(0.5), a, _silence(1.0), b, _silence(0.8)])
    chunks = [stream[i:i + 1600] for i in range(0, stream.size, 1600)]  # 100 ms chunks
    results = list(pipeline.listen(chunks))
    assert [r.intent.kind for r in results] == ["task", "stop"], [r.text for r in results]
    assert results[0].intent.slots.get("target") == "kitchen"
    assert results[0].start_s < 0.5 + a.size / SAMPLE_RATE < results[1].start_s
    for r in results:
        assert 0.0 < r.latency_s < 10.0


def test_command_of_two_sentences_is_joined_across_the_pause(pipeline, speaker):
    a = _speech16(speaker, "Somewhere in the house there is a red cup.")
    b = _speech16(speaker, "Put it on the desk in the office.")
    stream = np.concatenate([_silence(0.4), a, _silence(0.7), b, _silence(2.0)])
    chunks = [stream[i:i + 1024] for i in range(0, stream.size, 1024)]
    results = list(pipeline.listen(chunks))
    assert len(results) == 1, [r.text for r in results]
    intent = results[0].intent
    assert intent.verb == "bring" and intent.ask_back is None, intent
    assert intent.slots["object"] == "cup" and intent.slots["target"] == "desk"
    assert results[0].timings.get("merged") == 1.0
    # with merging off, the halves come apart and the second asks back
    pipeline.config.merge_window_ms = 0
    try:
        halves = list(pipeline.listen(chunks))
    finally:
        pipeline.config.merge_window_ms = 1500
    assert len(halves) == 2 and halves[1].intent.ask_back


def test_world_rescoring_repairs_misheard_words_and_spots_stop(pipeline, speaker):
    pipeline.set_world(None)
    audio = _speech16(speaker, "Find the blue box in the kitchen.")
    tr = pipeline.transcriber.transcribe(audio, pipeline.prompt)
    right, wrong = pipeline.transcriber.score(
        tr, ["Find the blue box in the kitchen.", "Find the blue marks in the kitchen."])
    assert right > wrong  # forced decoding hears the difference
    doubtful = "find the blue marks in the kitchen"  # what the decoder wrote in noise
    fixed = pipeline._rescore(tr, doubtful, pipeline.grounder.ground(doubtful))
    assert fixed is not None and fixed[0] == "find the blue box in the kitchen"
    assert fixed[1].slots["object"] == "box" and fixed[1].ask_back is None
    stop = pipeline.transcriber.transcribe(_speech16(speaker, "Robot, stop."), pipeline.prompt)
    spotted = pipeline._rescore(stop, "low mat star", pipeline.grounder.ground("low mat star"))
    assert spotted is not None and spotted[1].kind == "stop", spotted
    # a confident transcript of the world's words is left alone (no extra decoding)
    clear = "find the blue box in the kitchen"
    assert pipeline._rescore(tr, clear, pipeline.grounder.ground(clear)) is None


def test_a_short_utterance_naming_a_place_becomes_an_order_to_go_there(pipeline, speaker):
    pipeline.set_world(None)
    tr = pipeline.transcriber.transcribe(_speech16(speaker, "Drive to the study."),
                                         pipeline.prompt)
    heard = "climb cabinet study"  # what the decoder wrote for an espeak voice at 10 dB
    fixed = pipeline._rescore(tr, heard, pipeline.grounder.ground(heard))
    assert fixed is not None and fixed[1].kind == "task", fixed
    assert fixed[1].slots["target"] == "office" and fixed[1].ask_back is None
    # "robot, stop" misheard as words ending in a place's name stays a stop, not a go
    stop = pipeline.transcriber.transcribe(_speech16(speaker, "Robot, stop."), pipeline.prompt)
    heard = "dolomak desk desk"
    spotted = pipeline._rescore(stop, heard, pipeline.grounder.ground(heard))
    assert spotted is not None and spotted[1].kind == "stop", spotted


def test_an_order_to_go_is_made_up_only_where_the_decoder_prefers_it(pipeline, monkeypatch):
    pipeline.set_world(None)
    heard = "climb cabinet study"

    def fake_scores(go_score):  # a fake decoder: the heard text -3.0, stop orders -9.0
        def score(tr, texts):
            return [-3.0 if t == "Climb cabinet study." else go_score
                    if t.startswith(("Go to the", "Drive to the")) else -9.0 for t in texts]
        return score

    tr = Transcript(heard, encoded=np.zeros((1, 1, 1), np.float32), frames=1)
    monkeypatch.setattr(pipeline.transcriber, "score", fake_scores(-3.2))
    # within the usual margin of the heard text, but not preferred to it: not taken
    assert pipeline._rescore(tr, heard, pipeline.grounder.ground(heard)) is None
    monkeypatch.setattr(pipeline.transcriber, "score", fake_scores(-2.9))
    fixed = pipeline._rescore(tr, heard, pipeline.grounder.ground(heard))
    assert fixed is not None and fixed[1].slots["target"] == "office"


def test_a_spelling_correction_is_checked_against_the_sound(pipeline, speaker, monkeypatch):
    pipeline.set_world(None)
    said = "Bring the purple book from the cabinet in the dining room to the shelf."
    tr = pipeline.transcriber.transcribe(_speech16(speaker, said), pipeline.prompt)
    heard = "bring the purple book from the cabinet in the nighting room to the shelf"
    by_spelling = pipeline.corrector.correct(heard)
    assert "sitting room" in by_spelling  # spelling alone picks the wrong room
    fixed = pipeline._rescore(tr, heard, pipeline.grounder.ground(heard), extra=[by_spelling])
    assert fixed is not None and fixed[1].slots["source_room"] == "dining_room", fixed
    pick = pipeline._pick([(heard, -0.2)], single=True)
    assert pick.heard == heard and pick.text == by_spelling
    # recognize() does it by itself: the decoder (here made to write the misheard words,
    # over the real encoder output of the real audio) needed a spelling correction
    misheard = Transcript(heard, [(heard, -0.2)], encoded=tr.encoded, frames=tr.frames)
    monkeypatch.setattr(pipeline.transcriber, "transcribe", lambda audio, prompt: misheard)
    res = pipeline.recognize(np.zeros(SAMPLE_RATE, np.float32))
    assert res.intent.slots["source_room"] == "dining_room" and res.timings["rescored"]


def test_the_second_opinion_rechecks_a_world_word_whisper_heard_wrong(pipeline, speaker,
                                                                      monkeypatch):
    pipeline.set_world(None)
    assert pipeline.second is not None  # on by default, from its package
    audio = _speech16(speaker, "Put the black flask in the kitchen.")
    tr = pipeline.transcriber.transcribe(audio, pipeline.prompt)
    ok = pipeline.recognize(audio)  # heard right: checked, nothing to change
    assert ok.intent.slots["object_colour"] == "black", ok.text
    assert "recheck" in ok.timings and "rechecked" not in ok.timings
    # the decoder (made to write a confidently wrong colour, over the real encoder output of
    # the real audio) makes sense to the grammar and the world: no rescoring, but the second
    # model doubts "blue", and both models together prefer "black"
    heard = "Put the blue flask in the kitchen."
    misheard = Transcript(heard, [(heard, -0.1)], encoded=tr.encoded, frames=tr.frames)
    monkeypatch.setattr(pipeline.transcriber, "transcribe", lambda audio, prompt: misheard)
    res = pipeline.recognize(audio)
    assert res.intent.slots["object_colour"] == "black" and res.timings["rechecked"], res.text
    assert "rescored" not in res.timings
    # a candidate must beat the transcript by the margin
    monkeypatch.setattr(pipeline.config, "second_opinion_margin", 10.0)
    assert pipeline.recognize(audio).intent.slots["object_colour"] == "blue"


def test_the_second_opinion_can_be_turned_off_and_a_missing_one_is_named(pipeline, caplog):
    from embodied_collab.speech.pipeline import SpeechPipeline

    shared = {"transcriber": pipeline.transcriber, "embedder": pipeline._embedder,
              "vad": pipeline.vad}
    off = SpeechPipeline(SpeechConfig(second_opinion=""), second_opinion=pipeline.second,
                         **shared)
    assert off.second is None
    with caplog.at_level("WARNING"):
        missing = SpeechPipeline(SpeechConfig(second_opinion="/nonexistent/moonshine"), **shared)
    assert missing.second is None
    assert "second-opinion check off" in caplog.text and "/nonexistent/moonshine" in caplog.text


def test_words_the_rescoring_leaves_unknown_are_still_corrected_by_spelling(pipeline,
                                                                          monkeypatch):
    pipeline.set_world(None)
    heard = "bring the blue marks to the kitchin"

    def fake_score(tr, texts):  # a fake decoder that hears "box" but not "kitchen"
        return [-2.0 if t == sentence(heard) else -1.0 if t == "Bring the blue box to the "
                "kitchin." else -5.0 for t in texts]

    misheard = Transcript(heard, [(heard, -0.2)], encoded=np.zeros((1, 1, 1), np.float32),
                          frames=1)
    monkeypatch.setattr(pipeline.transcriber, "transcribe", lambda audio, prompt: misheard)
    monkeypatch.setattr(pipeline.transcriber, "score", fake_score)
    monkeypatch.setattr(pipeline, "second", None)  # no second opinion on the fake's silence
    res = pipeline.recognize(np.zeros(SAMPLE_RATE, np.float32))
    assert res.text == "bring the blue box to the kitchen", res.text
    assert res.intent.slots["object"] == "box" and res.intent.slots["target"] == "kitchen"


def test_rescoring_repairs_an_and_heard_inside_a_name(pipeline, speaker):
    pipeline.set_world(None)
    said = "Bring the green box from the shelf in the hallway to the sink in the bathroom."
    tr = pipeline.transcriber.transcribe(_speech16(speaker, said), pipeline.prompt)
    heard = "bring the green and book from the shelf in the hallway to the sink in the bathroom"
    intent = pipeline.grounder.ground(heard)
    assert intent.ask_back is None  # a confident wrong intent: only the grammar doubts it
    fixed = pipeline._rescore(tr, heard, intent)
    assert fixed is not None and fixed[1].slots["object"] == "box", fixed
    assert fixed[0].startswith("bring the green box from the shelf")


def test_the_most_complete_of_close_hypotheses_is_taken(pipeline):
    pipeline.set_world(None)
    hyps = [("Place the purple apple under office cabinet.", -0.188),
            ("Place the purple apple on the office cabinet.", -0.222),
            ("Place the purple apple under office cabinet!", -0.261)]
    raw, text, intent, _ = pipeline._pick(hyps, single=True)
    assert text == "place the purple apple on the office cabinet"
    assert raw == hyps[1][0] and intent.slots["target"] == "cabinet"
    far = [hyps[0], ("Place the purple apple on the office cabinet.", -0.5)]
    assert pipeline._pick(far, single=True)[1] == "place the purple apple under office cabinet"
    # a word the world does not know is taken from a hypothesis that heard a known one
    # (spelling alone makes "hiding room" the living room)
    hiding = [("Go to the hiding room.", -0.05), ("Go to the dining room.", -0.40)]
    assert pipeline.corrector.correct(hiding[0][0]) == "go to the living room"
    assert pipeline._pick(hiding, single=True)[1] == "go to the dining room"
    margin = pipeline.config.nbest_intent_margin
    try:
        pipeline.config.nbest_intent_margin = 0.0  # off: the best-scoring transcript
        raw, text, intent, _ = pipeline._pick(hyps, single=True)
        assert raw == hyps[0][0] and intent is None
    finally:
        pipeline.config.nbest_intent_margin = margin


def test_world_grounding_and_reply(pipeline, speaker):
    task = generate_task(2, "multi_step")
    world = task.world()
    res = pipeline.transcribe(speaker.say(task.instruction), speaker.sample_rate, world=world)
    assert res.intent.slots.get("object") == task.goal.object, (res.text, res.intent.slots)
    assert res.intent.slots.get("target") == task.goal.target
    reply = reply_for(res.intent, "accepted")
    assert reply.startswith("Okay, I will bring")
    assert reply_for(res.intent, "failed", "the door is locked").endswith("locked.")


def test_cli_transcribe_json(tmp_path, capsys, speaker):
    from embodied_collab.cli.main import main

    wav = tmp_path / "cmd.wav"
    write_wav(wav, np.concatenate([_silence(0.3), speaker.say("Stop."), _silence(0.3)]),
              speaker.sample_rate)
    assert main(["transcribe", str(wav), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["intent"] == "stop" and out["confidence"] == 1.0
    bad = tmp_path / "bad.wav"
    bad.write_text("this is not audio")
    assert main(["transcribe", str(bad), "--json"]) == 2
    assert "not a readable audio file" in capsys.readouterr().err


def test_model_is_configurable():
    path = assemble("whisper-base-ct2")
    assert resolve_model(str(path)) == path  # a directory works as well as an asset name
    with pytest.raises(ModelNotAvailable, match="neither"):
        resolve_model("/nonexistent/whisper-large")


def test_speaker_validates_text(speaker):
    with pytest.raises(InvalidInputError, match="empty"):
        speaker.say("  ")
    audio = speaker.say("Done.")
    assert audio.dtype == np.float32 and 0.2 < audio.size / speaker.sample_rate < 3.0


def test_a_barely_preferred_cancel_gives_way_to_stop():
    from embodied_collab.speech.pipeline import stop_over_cancel

    texts = ["never mind", "stop", "stop now", "find the cup"]
    assert stop_over_cancel(texts, [-5.15, -5.48, -5.60, -4.0], 0, 0.5) == 1
    assert stop_over_cancel(texts, [-5.15, -5.80, -5.90, -4.0], 0, 0.5) == 0  # clearly cancel
    assert stop_over_cancel(texts, [-5.15, -5.48, -5.60, -4.0], 3, 0.5) == 3  # not a cancel
    assert stop_over_cancel(texts, [-5.15, -5.48, -5.60, -4.0], 0, 0.0) == 0


def test_a_second_sentence_missing_only_its_object_is_actionable():
    from embodied_collab.speech.grounding import WHICH_OBJECT_TO_BRING, Intent
    from embodied_collab.speech.pipeline import _actionable

    second = Intent("task", 0.4, "place it on the bed", verb="bring", slots={"target": "bed"},
                    ask_back=WHICH_OBJECT_TO_BRING, questions=(WHICH_OBJECT_TO_BRING,))
    assert _actionable(second)
    no_it = Intent("task", 0.4, "place on the bed", verb="bring", slots={"target": "bed"},
                   ask_back=WHICH_OBJECT_TO_BRING, questions=(WHICH_OBJECT_TO_BRING,))
    two_gaps = Intent("task", 0.1, "place it on the bed in the bathroom", verb="bring",
                      ask_back=WHICH_OBJECT_TO_BRING,
                      questions=(WHICH_OBJECT_TO_BRING, "I don't know a bathroom here."))
    assert not _actionable(no_it) and not _actionable(two_gaps)
    assert not _actionable(Intent("unknown", 0.0, "low mat star"))
    assert _actionable(Intent("task", 1.0, "go to the office", verb="go"))


def test_trim_repetition():
    assert trim_repetition("Stop. Stop. Stop. St") == "Stop."
    assert trim_repetition("Go to the kitchen. Go to") == "Go to the kitchen."
    assert trim_repetition("put the cup on the cup") == "put the cup on the cup"
    # a loop that spells a word differently each time (seen with Whisper base)
    said = "Bring the black novel from the bathroom's sink to the laundry."
    again = "Bring the black novel from the bathrooms sink to the laundry."
    assert trim_repetition(f"{said} {again} {again}") == said
    # two different sentences stay
    two = "Take the red cup to the kitchen. Take the blue cup to the kitchen."
    assert trim_repetition(two) == two
