"""Grounding transcripts to intents: stop/cancel, slots, synonyms, world ids, ask-back.

The embedding model is the real all-MiniLM-L6-v2 from its package (marked ``models``); the
rest of these tests exercise the rule-based parts, which need no model.
"""

import pytest

from embodied_collab.sim.generate import generate_task, generate_world
from embodied_collab.speech.grounding import Grounder, quick_command
from embodied_collab.speech.vocabulary import Corrector, Vocabulary


@pytest.fixture(scope="module")
def grounder():
    return Grounder()


@pytest.mark.parametrize(("text", "kind"), [
    ("Stop.", "stop"), ("stop now!", "stop"), ("Halt", "stop"), ("Robot, stop.", "stop"),
    ("Cancel that.", "cancel"), ("never mind", "cancel"), ("Forget it.", "cancel"),
    ("wait for me in the kitchen", None), ("bring the cup to the stop sign please now", None),
])
def test_quick_commands(text, kind):
    assert quick_command(text) == kind


def test_stop_needs_no_model(grounder):
    intent = grounder.ground("Stop!")
    assert intent.kind == "stop" and intent.confidence == 1.0 and intent.ask_back is None
    assert grounder._embedder is None  # answered before any model was loaded


def test_fetch_command_slots(grounder):
    intent = grounder.ground("Bring the red cup from the kitchen table to the desk in the office.")
    assert intent.kind == "task" and intent.verb == "bring"
    assert intent.slots == {"object": "cup", "object_colour": "red", "source": "table",
                            "source_room": "kitchen", "target": "desk", "target_room": "office"}
    assert intent.confidence >= 0.9 and intent.ask_back is None


def test_synonyms_map_to_catalog(grounder):
    intent = grounder.ground("Take the big mug from the couch and put it in the fridge in the "
                             "lounge")
    assert intent.slots["object"] == "cup" and intent.slots["object_size"] == "large"
    assert intent.slots["source"] == "sofa"
    assert intent.slots["target"] == "fridge" and intent.slots["target_room"] == "living_room"


def test_go_and_find(grounder):
    go = grounder.ground("Please go to the sitting room")
    assert go.verb == "go" and go.slots == {"target": "living_room", "target_room": "living_room"}
    find = grounder.ground("find the yellow ball in the hallway")
    assert find.verb == "find" and find.slots["source_room"] == "hallway"
    # "get to" / "move to" a place is going; with an object in between it is carrying
    for text in ("Please get to the office.", "move to the kitchen"):
        g = grounder.ground(text)
        assert g.verb == "go" and g.ask_back is None, text
    for text in ("get the cup to the office", "move the ball to the kitchen"):
        g = grounder.ground(text)
        assert g.verb == "bring" and g.slots["object"] in ("cup", "ball"), text
    # every gap is kept, not only the one asked about
    it = grounder.ground("place it on the bed in the bedroom")
    assert it.verb == "bring" and it.questions == ("Which object should I bring?",)


@pytest.mark.models
def test_nonsense_asks_back(grounder):  # unknown words go through the embedding model
    intent = grounder.ground("the weather is lovely today")
    assert intent.kind == "unknown" and intent.ask_back
    assert grounder.ground("").ask_back


@pytest.mark.models
def test_embedding_reads_unknown_words(grounder):
    intent = grounder.ground("bring the settee cushion... no, bring the tumbler to the study")
    assert intent.slots.get("object") == "cup"  # "tumbler" via embeddings, not the lexicon
    assert intent.slots.get("target") == "office"
    assert 0.0 < intent.confidence < 0.95  # an embedding match is less sure than a name


@pytest.mark.models
@pytest.mark.parametrize("difficulty", ["fetch", "multi_step", "attributes"])
def test_generated_tasks_ground_to_goal_ids(difficulty):
    for seed in range(3):
        task = generate_task(seed, difficulty)
        intent = Grounder(task.world()).ground(task.instruction)
        goal = task.goal
        assert intent.kind == "task", task.instruction
        assert intent.slots.get("object") == goal.object, (task.instruction, intent.slots)
        if goal.target is not None:
            assert intent.slots.get("target") == goal.target, (task.instruction, intent.slots)


def test_world_ambiguity_and_absence_ask_back():
    world = generate_world(3)
    vocab = Vocabulary.from_world(world)
    g = Grounder(vocab)
    cats = [o.category for o in world.objects]
    dup = next(c for c in cats if cats.count(c) > 1)
    amb = g.ground(f"bring the {dup} to the {world.rooms[0].type.replace('_', ' ')}")
    assert amb.ask_back and amb.ask_back.startswith(f"Which {dup}")
    missing = next(c for c in ("cup", "bottle", "box", "ball", "book", "apple")
                   if not any(o.category == c and o.colour == "white" for o in world.objects))
    absent = g.ground(f"bring the white {missing} to the {world.rooms[0].type.replace('_', ' ')}")
    assert absent.ask_back and "can't find" in absent.ask_back


def test_corrector_fixes_misheard_world_words():
    c = Corrector(Vocabulary.from_catalog(), 0.75)
    assert c.correct("move the book to the dinning rom table") == \
        "move the book to the dining room table"
    assert c.correct("go to the hallwey") == "go to the hallway"
    assert c.correct("put it on the cabinett") == "put it on the cabinet"
    assert c.correct("the quick brown fox") == "the quick brown fox"  # not forced onto the world
    # the words of stop and cancel orders are left alone ("mind" is close to "find")
    assert c.correct("never mind") == "never mind" and c.correct("forget it") == "forget it"
    assert c.oov_rate("bring the cup") == 0.0 and c.oov_rate("zebra") == 1.0


def test_corrector_gives_a_name_its_own_small_word_back():
    c = Corrector(Vocabulary.from_catalog(), 0.75)
    assert c.correct("put it on the chest and drawers in the hallway") == \
        "put it on the chest of drawers in the hallway"
    assert c.correct("the chest or drawers") == "the chest of drawers"
    # only between the name's own words
    assert c.correct("take the chest and the drawers") == "take the chest and the drawers"


@pytest.mark.parametrize(("text", "kind"), [
    ("robot shop", "stop"), ("Shop!", "stop"), ("go to the shop", None), ("robot, shopping", None),
])
def test_misheard_one_word_stop_is_a_stop(text, kind):
    assert quick_command(text) == kind


def test_a_word_split_by_the_asr_is_joined(grounder):
    intent = grounder.ground("take the purple foot all from the office cupboard to the bathroom "
                             "cabinet")
    assert intent.slots["object"] == "ball" and intent.ask_back is None, intent


@pytest.mark.models
def test_a_colour_without_an_object_asks_back_instead_of_guessing(grounder):
    intent = grounder.ground("find the blue marks in the kitchen")
    assert "object" not in intent.slots and intent.ask_back == "Which object do you mean?"
    assert intent.confidence < grounder.config.ask_back_threshold
