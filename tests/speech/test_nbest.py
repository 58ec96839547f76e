"""Choosing among n-best transcripts (pure logic, no model): known words borrowed from another
hypothesis, and intents compared by how complete they are."""

from embodied_collab.speech.grounding import WHICH_OBJECT_TO_BRING, Intent
from embodied_collab.speech.nbest import borrow_known_words, intent_quality, may_replace
from embodied_collab.speech.vocabulary import Corrector, Vocabulary, words_of

KNOWN = Corrector(Vocabulary.from_catalog()).known


def test_an_unknown_word_takes_the_known_word_another_hypothesis_heard():
    top = words_of("Carry the marks from the shelf to the shelf in the hiding room.")
    second = words_of("Carry the marks from the shelf to the shelf in the dining room.")
    assert " ".join(borrow_known_words(top, [second], KNOWN)) == \
        "carry the marks from the shelf to the shelf in the dining room"
    # "marks" is unknown in every hypothesis: it stays for spelling correction / rescoring
    assert "marks" in borrow_known_words(top, [second], KNOWN)


def test_only_the_unknown_words_are_taken_word_for_word():
    top = words_of("Both the large wall on the fridge in the kitchen.")
    alt = words_of("Both the large ball and the fridge in the kitchen.")
    assert " ".join(borrow_known_words(top, [alt], KNOWN)) == \
        "both the large ball on the fridge in the kitchen"


def test_known_words_and_function_word_only_replacements_are_kept():
    top = words_of("find the red cup in the bathroom")
    assert borrow_known_words(top, [words_of("find the red cup in the bedroom")], KNOWN) == top
    odd = words_of("bring the zorp to the kitchen")
    # an alternative that only has small words there gives no name
    assert borrow_known_words(odd, [words_of("bring the a to the kitchen")], KNOWN) == odd
    # nor does one that heard a much longer stretch there
    longer = words_of("bring the red cup from the desk to the kitchen")
    assert borrow_known_words(odd, [longer], KNOWN) == odd
    assert borrow_known_words(odd, [], KNOWN) == odd


def test_intent_quality_prefers_actionable_then_more_slots_then_confidence():
    full = Intent("task", 1.0, "place the purple apple on the office cabinet", verb="bring",
                  slots={"object": "apple", "object_colour": "purple", "target": "cabinet",
                         "target_room": "office"})
    no_target = Intent("task", 1.0, "place the purple apple under office cabinet",
                       verb="bring", slots={"object": "apple", "object_colour": "purple"})
    asks = Intent("task", 0.4, "place the under office cabinet", verb="bring",
                  slots={"target": "cabinet", "target_room": "office", "source": "x",
                         "source_room": "y", "object_size": "large"},
                  ask_back=WHICH_OBJECT_TO_BRING)
    unknown = Intent("unknown", 0.0, "rhyme chanastadi")
    ranked = sorted([asks, unknown, no_target, full], key=intent_quality, reverse=True)
    assert ranked == [full, no_target, asks, unknown]
    less_sure = Intent("task", 0.8, full.text, verb="bring", slots=dict(full.slots))
    assert intent_quality(full) > intent_quality(less_sure)


def test_a_longer_or_slot_losing_hypothesis_may_not_replace_the_best():
    top_text = "put the large red cup on the bed in the bedroom"
    top = Intent("task", 1.0, top_text, verb="bring",
                 slots={"object": "cup", "object_colour": "red", "object_size": "large",
                        "target": "bed", "target_room": "bedroom"})
    bed_cup = Intent("task", 1.0, "put the large bed cup on the bed in the bedroom",
                     verb="bring", slots={"object": "cup", "object_size": "large",
                                          "source": "bed", "source_room": "bedroom",
                                          "target": "bed", "target_room": "bedroom"})
    assert intent_quality(bed_cup) > intent_quality(top)  # more slots, but it lost the colour
    assert not may_replace(words_of(bed_cup.text), bed_cup, words_of(top_text), top)
    repeated = f"{top_text} put the large red cup on the bed"
    more = Intent("task", 1.0, repeated, verb="bring", slots={**top.slots, "source": "bed"})
    assert not may_replace(words_of(repeated), more, words_of(top_text), top)
    on_the = "put the large red cup on the bed in the bedroom please"
    assert may_replace(words_of(on_the), more, words_of(top_text), top)
    # a best hypothesis that is not actionable may be replaced by any reading of its length
    asks = Intent("task", 0.4, "put the large red zorp on the bed in the bedroom",
                  verb="bring", slots={"target": "bed", "target_room": "bedroom",
                                       "object_size": "large", "object_colour": "red",
                                       "source": "x"}, ask_back=WHICH_OBJECT_TO_BRING)
    assert may_replace(words_of(top_text), top, words_of(asks.text), asks)


def test_the_same_letters_spaced_differently_do_not_replace_the_best():
    top = Intent("task", 0.5, "somewhere in the house there is a purple book",
                 slots={"object": "book", "object_colour": "purple"}, ask_back="Find it?")
    split = Intent("task", 0.8, "some where in the house there is a purple book", verb="find",
                   slots={"object": "book", "object_colour": "purple"})
    assert intent_quality(split) > intent_quality(top)
    assert not may_replace(words_of(split.text), split, words_of(top.text), top)
