"""Pure parts of the benchmark: word errors, intent matching, generated commands."""

from embodied_collab.speech.bench import intent_matches, word_errors
from embodied_collab.speech.grounding import Grounder, Intent
from embodied_collab.speech.synth import Command, generate_commands, task_commands


def test_word_errors():
    assert word_errors("Bring the cup.", "bring the cup") == (0, 3)
    assert word_errors("bring the red cup", "bring a cup") == (2, 4)
    assert word_errors("stop", "") == (1, 1)


def test_intent_matching_is_strict():
    cmd = Command("Go to the kitchen.", "task", "go", {"target": "kitchen",
                                                       "target_room": "kitchen"})
    good = Intent("task", 1.0, verb="go", slots=dict(cmd.slots))
    assert intent_matches(cmd, good)
    assert not intent_matches(cmd, Intent("task", 1.0, verb="bring", slots=dict(cmd.slots)))
    assert not intent_matches(cmd, Intent("task", 1.0, verb="go", slots={"target": "kitchen"}))
    assert not intent_matches(cmd, Intent("stop", 1.0))
    assert intent_matches(Command("Stop.", "stop"), Intent("stop", 1.0))


def test_generated_commands_are_grounded_by_their_own_truth():
    cmds = generate_commands(60, seed=7)
    assert cmds == generate_commands(60, seed=7)  # deterministic
    kinds = {c.kind for c in cmds}
    assert kinds == {"task", "stop", "cancel"}
    g = Grounder()
    wrong = [c.text for c in cmds if not intent_matches(c, g.ground(c.text))]
    assert wrong == []  # the reference texts themselves parse to their intents


def test_task_commands_carry_world_and_goal_ids():
    cmds = task_commands(4, seed=3)
    assert len(cmds) == 4
    for c in cmds:
        assert c.world is not None and c.world.has(c.slots["object"])


class FakeSynthesizer:
    """Fake (no TTS): a tone whose length depends on the text; counts its calls."""

    def __init__(self):
        self.calls = 0

    def speak(self, text, voice, seed=0):
        import numpy as np

        self.calls += 1
        t = np.arange(800 * len(text)) / 16000
        return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_speech_is_cached_on_disk_and_subsets_hear_the_same_audio(tmp_path):
    import numpy as np

    from embodied_collab.speech.bench import bench_audio, cached_speech
    from embodied_collab.speech.synth import VOICES

    fake = FakeSynthesizer()
    a = cached_speech(fake, "Stop.", VOICES[0], 3, tmp_path)
    b = cached_speech(fake, "Stop.", VOICES[0], 3, tmp_path)
    assert fake.calls == 1 and np.array_equal(a, b)
    cached_speech(fake, "Stop.", VOICES[1], 3, tmp_path)  # another voice: another entry
    assert fake.calls == 2 and len(list(tmp_path.glob("*.npy"))) == 2
    jobs = [(0, Command("Go to the kitchen.", "task"), None),
            (0, Command("Go to the kitchen.", "task"), 20.0),
            (1, Command("Stop.", "stop"), 10.0)]
    full = bench_audio(jobs, list(VOICES), seed=5, synth=fake, cache_dir=tmp_path)
    again = bench_audio(jobs, list(VOICES), seed=5, synth=fake, cache_dir=tmp_path)
    assert fake.calls == 4  # two new texts, then all from the cache
    for (x, end_x, _, vx), (y, end_y, _, vy) in zip(full, again, strict=True):
        assert np.array_equal(x, y) and end_x == end_y and vx == vy
    assert not np.array_equal(full[0][0], full[1][0])  # noise added at 20 dB


def test_utterance_ids_of_the_only_option(tmp_path):
    import json

    import pytest

    from embodied_collab.errors import InvalidInputError
    from embodied_collab.speech.bench import bench_jobs
    from embodied_collab.speech.cli import _utterance_ids

    assert _utterance_ids(None) is None
    assert _utterance_ids("3,17, 42") == [3, 17, 42]
    out = tmp_path / "run.json"
    out.write_text(json.dumps({"hard_utterances": [1, 5]}))
    assert _utterance_ids(str(out)) == [1, 5]
    with pytest.raises(InvalidInputError, match="utterance ids"):
        _utterance_ids("a,b")
    out.write_text(json.dumps({"hard_utterances": "x"}))
    with pytest.raises(InvalidInputError, match="list of utterance ids"):
        _utterance_ids(str(out))
    jobs = bench_jobs(6, seed=1)
    assert len(jobs) == 18 and [snr for _, _, snr in jobs[:3]] == [None, 20.0, 10.0]
    assert sum(c.world is not None for _, c, _ in jobs) == 6  # 2 task commands x 3


def _run(utts, ok, clean, db20, db10, intent):
    """A :func:`run_bench`-shaped result (only the keys pooling reads)."""
    return {"utterances": utts, "intent_accuracy": intent,
            "word_accuracy": 1 - clean[0] / clean[1],
            "word_accuracy_20db": 1 - db20[0] / db20[1],
            "word_accuracy_10db": 1 - db10[0] / db10[1],
            "counts": {"intents_ok": ok,
                       "word_errors": {"clean": clean, "20db": db20, "10db": db10}}}


def test_pooling_runs_over_seeds_sums_counts_not_rates():
    from embodied_collab.speech.bench import pool_runs

    runs = {9: _run(10, 9, [1, 100], [2, 100], [5, 100], 0.9),
            1234: _run(30, 30, [0, 300], [3, 300], [6, 300], 1.0)}
    p = pool_runs(runs)
    assert p["seeds"] == [9, 1234] and p["utterances"] == 40
    assert p["intent_accuracy"] == 0.975  # 39 of 40, not the mean of 0.9 and 1.0
    assert p["word_accuracy"] == round(1 - 1 / 400, 4)
    assert p["word_accuracy_10db"] == round(1 - 11 / 400, 4)
    assert p["intent_accuracy_min"] == 0.9
    assert p["seeds_meeting_goals"] == {"word_accuracy >= 0.98": 2,
                                        "word_accuracy_10db >= 0.95": 2,
                                        "intent_accuracy >= 0.98": 1}
    import pytest

    with pytest.raises(ValueError, match="no 'counts'"):
        pool_runs({1: {"utterances": 3}})
    with pytest.raises(ValueError, match="no runs"):
        pool_runs({})


def test_seeds_option_is_checked():
    import pytest

    from embodied_collab.errors import InvalidInputError
    from embodied_collab.speech.cli import _seeds

    assert _seeds("1234, 9,4321") == [1234, 9, 4321]
    for bad in ("", "1,x", "-3", "1,1"):
        with pytest.raises(InvalidInputError, match="--seeds"):
            _seeds(bad)
