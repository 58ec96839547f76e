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
