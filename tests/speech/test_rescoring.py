"""Candidates of world-constrained rescoring (pure logic, no model): doubtful spans, the
grammar's role for each, and the world's names put in their place."""

from embodied_collab.sim.generate import generate_task
from embodied_collab.speech.rescoring import (
    STOP_CANDIDATES,
    candidate_texts,
    sentence,
    suspect_spans,
    world_names,
)
from embodied_collab.speech.vocabulary import Corrector, Vocabulary, words_of


def _setup(world=None):
    v = Vocabulary.from_world(world) if world is not None else Vocabulary.from_catalog()
    return v, Corrector(v).known


def test_spans_take_their_role_from_the_grammar():
    v, known = _setup()
    spans = suspect_spans(words_of("I'm the blue marks in the kitchen"), known, v)
    assert [(s.start, s.end, s.role) for s in spans] == [(0, 1, "verb"), (3, 4, "object")]
    # a place name after a colour or size is a misheard object ("the large hall")
    spans = suspect_spans(words_of("put the large hall on the fridge"), known, v)
    assert [(s.start, s.role) for s in spans] == [(3, "object")]
    assert suspect_spans(words_of("bring the red cup to the kitchen"), known, v) == []


def test_candidates_replace_the_doubtful_words_with_world_names():
    v, known = _setup()
    cands = candidate_texts(words_of("find the blue marks in the kitchen"), known, v)
    assert "find the blue box in the kitchen" in cands
    assert all(c.startswith("find the blue ") and c.endswith(" in the kitchen") for c in cands)
    verbs = candidate_texts(words_of("i'm the small white cup in the bathroom"), known, v)
    assert "find the small white cup in the bathroom" in verbs
    assert "put the small white cup in the bathroom" in verbs
    assert candidate_texts(words_of("bring the red cup to the kitchen"), known, v) == []


def test_stop_words_and_the_candidate_limit():
    v, known = _setup()
    cands = candidate_texts(words_of("low mat star"), known, v, stop_words=True,
                            max_candidates=12)
    assert len(cands) == 12 and cands[:len(STOP_CANDIDATES)] == list(STOP_CANDIDATES)
    assert "robot stop" in cands
    assert len(candidate_texts(words_of("find the blue marks"), known, v,
                               max_candidates=3)) == 3


def test_with_a_world_only_its_objects_are_candidates():
    task = generate_task(3, "attributes")
    world = task.world()
    v, known = _setup(world)
    names = world_names(v)
    cats = sorted({o.category for o in world.objects})
    assert names["object"] == cats
    assert all(d.split()[-1] in cats for d in names["described"])
    cands = candidate_texts(words_of("put the large jamming straw on the shelf"), known, v)
    assert {c.split()[3] for c in cands} <= set(cats) | {w.split()[0] for w in
                                                         names["described"]}


def test_sentence_form():
    assert sentence("find the blue box") == "Find the blue box."
    assert sentence("  ") == ""
