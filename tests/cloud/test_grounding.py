"""Pure logic: the instruction's furniture phrases resolved against the world ("the table in
the dining room"), and what the prompt, the grammar and the validator make of them."""

from __future__ import annotations

import pytest

from embodied_collab.cloud.grammar import plan_grammar
from embodied_collab.cloud.prompt import describe_world, relevant
from embodied_collab.cloud.validate import (
    check_grounding,
    destination_mention,
    furniture_mentions,
    source_mentions,
    validate_plan,
)
from embodied_collab.sim.generate import generate_task

# World 0: table_1 in the dining room, table_2 in the living room; box_1 on shelf_1.
INSTR = ("Take the yellow box from the shelf in the living room and put it on the table in "
         "the dining room.")


@pytest.fixture(scope="module")
def world():
    task = generate_task(0, "multi_step")
    assert task.instruction == INSTR and task.success == {"on": ["box_1", "table_1"]}
    return task.world()


def test_mentions_resolve_kind_and_room(world):
    ms = furniture_mentions(INSTR, world)
    assert [(m.kind, m.room, m.before, m.candidates) for m in ms] == [
        ("shelf", "living room", "from", ("shelf_1",)),
        ("table", "dining room", "on", ("table_1",)),
    ]
    assert destination_mention(INSTR, world).candidates == ("table_1",)
    assert [m.candidates for m in source_mentions(INSTR, world)] == [("shelf_1",)]


def test_room_before_kind_and_unknown_room(world):
    (m,) = furniture_mentions("Put the box on the living room table.", world)
    assert m.candidates == ("table_2",) and m.room == "living room"
    (m,) = furniture_mentions("Put the box on the table in the garage.", world)
    assert m.room is None and set(m.candidates) == {"table_1", "table_2"}  # not narrowed
    (m,) = furniture_mentions("Put the box on the table.", world)
    assert m.room is None and set(m.candidates) == {"table_1", "table_2"}


def test_fetch_instruction_has_sources_but_no_destination(world):
    text = "Go to the shelf in the living room and grab the yellow box."
    assert destination_mention(text, world) is None
    assert [m.candidates for m in source_mentions(text, world)] == [("shelf_1",)]


def test_prompt_lists_only_the_named_table(world):
    furn, objs = relevant(world, INSTR)
    assert [f.id for f in furn] == ["table_1", "shelf_1"]
    assert [o.id for o in objs] == ["box_1"]
    text = describe_world(world, INSTR)
    assert "table_2" not in text and "table_1 is the table in the dining room" in text
    # without a room, both tables stay listed
    furn, _ = relevant(world, "Put the yellow box on the table.")
    assert {"table_1", "table_2"} <= {f.id for f in furn}


def test_prompt_keeps_only_the_asked_size():
    task = generate_task(2, "attributes")  # large yellow box on shelf_2, small one on table_1
    text = task.instruction
    assert "not the small one" in text
    _, objs = relevant(task.world(), text)
    assert [(o.id, o.size) for o in objs] == [("box_1", "large")]


def test_grammar_place_takes_only_the_destination(world):
    g = plan_grammar(world, INSTR)
    line = next(x for x in g.splitlines() if x.startswith("furniture-id ::="))
    assert line == 'furniture-id ::= "table_1"'


def _steps(world, plan):
    steps, errors = validate_plan({"steps": plan}, world)
    assert errors == []
    return steps


def test_validator_rejects_the_wrong_table(world):
    wrong = [["navigate", "shelf_1"], ["pick", "box_1"], ["navigate", "table_2"],
             ["place", "table_2"]]
    errs = check_grounding(INSTR, _steps(world, wrong), world)
    assert len(errs) == 1 and "the table in the dining room" in errs[0] and "table_2" in errs[0]
    right = [["navigate", "shelf_1"], ["pick", "box_1"], ["navigate", "table_1"],
             ["place", "table_1"]]
    assert check_grounding(INSTR, _steps(world, right), world) == []
    # no room named: either table is the instruction's
    assert check_grounding("Put the yellow box on the table.", _steps(world, wrong), world) == []


def test_validator_rejects_an_object_from_elsewhere(world):
    text = "Take the yellow box from the table in the living room and put it on the shelf."
    plan = [["navigate", "shelf_1"], ["pick", "box_1"], ["navigate", "table_1"],
            ["place", "table_1"]]
    errs = check_grounding(text, _steps(world, plan), world)
    assert any("'box_1' is on/in 'shelf_1'" in e for e in errs)


def test_instruction_object_ignores_the_negated_size():
    from embodied_collab.cloud.validate import instruction_object

    assert instruction_object("Bring the large yellow box to the counter, not the small one.") \
        == {"category": "box", "colour": "yellow", "size": "large"}
    assert instruction_object("Somewhere in the house there is a blue bottle.") == {
        "category": "bottle", "colour": "blue"}
    assert instruction_object("Put the cup next to the ball.") is None


def test_step_conflicts_for_the_onboard_planner():
    from embodied_collab.cloud.validate import step_conflict

    t = generate_task(2, "search")  # blue bottle_1 in dresser_1, green bottle_2 on it
    w = t.world()
    assert "green bottle" in step_conflict(t.instruction, w, "pick bottle_2")
    assert step_conflict(t.instruction, w, "pick bottle_1") is None
    assert step_conflict(t.instruction, w, "navigate dresser_1") is None
    t = generate_task(1, "multi_step")  # ... put it in the dresser in the hallway (closed)
    w = t.world()
    assert "open dresser_1 first" in step_conflict(t.instruction, w, "place dresser_1")
    w.furniture_by_id("dresser_1").open = True
    assert step_conflict(t.instruction, w, "place dresser_1") is None
    assert "not shelf_3" in step_conflict(t.instruction, w, "place shelf_3")


def test_guarded_choice_takes_the_next_grounded_action():
    from embodied_collab.executive.decisions import guarded_choice

    t = generate_task(2, "search")
    names = ["pick bottle_2", "open dresser_1", "pick bottle_1", None]
    slot, conf = guarded_choice([0.6, 0.3, 0.1, 0.0], names, [True, True, False, False],
                                t.instruction, t.world())
    assert names[slot] == "open dresser_1" and conf == pytest.approx(1.0)  # 0.3 / (0.9 - 0.6)
    # nothing grounded is possible: the SLM's own choice
    slot, conf = guarded_choice([0.6, 0.3, 0.1, 0.0], names, [True, False, False, False],
                                t.instruction, t.world())
    assert names[slot] == "pick bottle_2" and conf == pytest.approx(0.6)


def test_plan_placing_on_a_closed_dresser_it_says_in_is_refused_and_fixed_locally():
    from embodied_collab.cloud.validate import autofix

    t = generate_task(1, "multi_step")  # ... put it in the dresser in the hallway (closed)
    w = t.world()
    plan = [["navigate", "shelf_2"], ["pick", "cup_3"], ["navigate", "dresser_1"],
            ["place", "dresser_1"]]
    errs = check_grounding(t.instruction, _steps(w, plan), w)
    assert errs == ["the instruction says in the dresser: open 'dresser_1' before placing "
                    "into it"]
    fixed = autofix({"steps": plan}, w, instruction=t.instruction)
    assert [s.skill for s in fixed] == ["navigate", "pick", "navigate", "open", "place"]
    assert check_grounding(t.instruction, fixed, w) == []
