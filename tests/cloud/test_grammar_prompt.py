"""Pure logic: the compact prompt (what it lists), the per-world GBNF grammar, compact plans,
and the deterministic local repairs."""

from __future__ import annotations

import re

import pytest

from embodied_collab.cloud.grammar import compact_schema, plan_grammar
from embodied_collab.cloud.prompt import EXAMPLES, describe_world, prompt_messages, relevant
from embodied_collab.cloud.validate import (
    SKILL_ARGS,
    autofix,
    check_complete,
    instruction_kind,
    plan_to_dicts,
    validate_plan,
)
from embodied_collab.sim.generate import generate_task


@pytest.fixture(scope="module")
def task():
    return generate_task(10, "multi_step")  # ball_1 on shelf_3 -> in closed cabinet_1


def _alternatives(grammar: str, rule: str) -> set[str]:
    line = next(ln for ln in grammar.splitlines() if ln.startswith(f"{rule} ::="))
    return set(re.findall(r'"([^"]*)"', line.split("::=", 1)[1]))


def test_context_lists_only_what_the_instruction_names(task):
    w = task.world()
    furn, objs = relevant(w, "Put the purple ball in the cabinet in the office.")
    assert {f.category for f in furn} <= {"cabinet", "shelf"}  # shelf: the ball's support
    assert [o.id for o in objs] == ["ball_1"]
    text = describe_world(w, "Put the purple ball in the cabinet in the office.")
    assert "ball_1 is the" in text and "(closed)" in text and "sofa" not in text
    # no furniture kind named -> all furniture; nothing matching -> "none listed"
    furn, objs = relevant(w, "Tidy up please.")
    assert len(furn) == len(w.furniture) and objs == []
    assert "Objects: none listed" in describe_world(w, "Tidy up please.")


def test_prompt_puts_the_fixed_part_first(task):
    a = prompt_messages(task.world(), "Pick up the purple ball.")
    b = prompt_messages(generate_task(3, "fetch").world(), "Get the cup.")
    n_fixed = 1 + 2 * len(EXAMPLES)
    assert a[:n_fixed] == b[:n_fixed] and len(a) == n_fixed + 1
    assert a[-1]["role"] == "user" and a[-1]["content"].endswith("Pick up the purple ball.")


def test_grammar_allows_only_allowed_skills_and_world_ids(task):
    w = task.world()
    g = plan_grammar(w)
    skills = set(re.findall(r'\\"(\w+)\\",', g))
    assert skills == set(SKILL_ARGS)
    ids = {r.id for r in w.rooms} | {f.id for f in w.furniture}
    assert _alternatives(g, "place-id") == ids
    assert _alternatives(g, "container-id") == {f.id for f in w.furniture if f.container}
    assert "shell" not in g


def test_grammar_shape_follows_the_instruction(task):
    w = task.world()
    deliver = plan_grammar(w, "Put the purple ball in the cabinet in the office.")
    root = deliver.splitlines()[0]
    assert "place-step" in root and "step (" not in root  # pick ..., then navigate ... place
    assert _alternatives(deliver, "colour") == {"purple"}
    assert re.search(r'^desc ::= \(size " "\)\? colour " " category', deliver, re.M)
    fetch = plan_grammar(w, "Pick up the purple ball.").splitlines()[0]
    assert "pick-step" in fetch and "place-step" not in fetch
    free = plan_grammar(w, "Wait ten seconds.").splitlines()[0]
    assert 'step ("," step)*' in free
    tell = plan_grammar(w, "Put the purple ball on the shelf and tell [PERSON_1].")
    assert "say-step" in tell.splitlines()[0]


def test_grammar_compiles_in_llama_cpp(task):
    llama_cpp = pytest.importorskip("llama_cpp")
    for text in (None, "Put the purple ball in the cabinet.", "Pick up the ball.", "Wait."):
        assert llama_cpp.LlamaGrammar.from_string(plan_grammar(task.world(), text), verbose=False)


def test_compact_schema_enumerates_skills():
    items = compact_schema()["properties"]["steps"]["items"]
    assert items["prefixItems"][0]["enum"] == list(SKILL_ARGS)


def test_compact_steps_validate_like_objects(task):
    w = task.world()
    compact = {"steps": [["navigate", "shelf_3"], ["pick", "ball_1"], ["wait", 2]]}
    steps, errors = validate_plan(compact, w)
    assert errors == [] and plan_to_dicts(steps)[2] == {"skill": "wait", "args": {"seconds": 2}}
    _, errors = validate_plan({"steps": [["shell", "rm -rf /"]]}, w)
    assert any("'shell' is not allowed" in e for e in errors)
    _, errors = validate_plan({"steps": [["navigate", "shelf_3", "fast"]]}, w)
    assert any("unexpected argument" in e for e in errors)


def test_autofix_searches_for_an_unseen_object(task):
    w = task.world()
    plan = [["pick", "purple apple"], ["place", "sofa_1"]]  # both purple apples are hidden
    fixed = plan_to_dicts(autofix({"steps": plan}, w, instruction="bring the purple apple"))
    assert [s["skill"] for s in fixed] == ["search", "pick", "navigate", "place"]
    assert validate_plan(fixed, w)[1] == []


def test_autofix_opens_a_cabinet_only_when_told_in(task):
    w = task.world()
    plan = {"steps": [["pick", "ball_1"], ["place", "cabinet_1"]]}
    onto = plan_to_dicts(autofix(plan, w, instruction="Put the ball on the cabinet."))
    into = plan_to_dicts(autofix(plan, w, instruction="Put the ball in the cabinet."))
    assert "open" not in [s["skill"] for s in onto]
    assert [s["skill"] for s in into][-2:] == ["open", "place"]
    assert validate_plan(onto, w)[1] == [] and validate_plan(into, w)[1] == []


def test_fetch_plan_must_not_put_the_object_down(task):
    w = task.world()
    steps, _ = validate_plan(
        [["navigate", "shelf_3"], ["pick", "ball_1"], ["place", "shelf_3"]], w
    )
    assert instruction_kind("Get the purple ball.") == "fetch"
    assert instruction_kind("Bring the ball to the desk.") == "deliver"
    assert instruction_kind("Wait here.") is None
    assert any("do not place" in e for e in check_complete("Get the purple ball.", steps))
    assert check_complete("Bring the purple ball to the shelf.", steps) == []


def test_replanning_while_holding_needs_only_the_delivery():
    """Mid-mission, with the object in hand, the grammar and the completeness check ask only
    for navigate (+ open) + place."""
    from embodied_collab.cloud.grammar import plan_grammar
    from embodied_collab.cloud.validate import Step, check_complete
    from embodied_collab.sim.generate import generate_task

    task = generate_task(0, "multi_step")
    world = task.world()
    free = plan_grammar(world, task.instruction)
    world.robot.holding = task.goal.object
    obj = world.object_by_id(task.goal.object)
    obj.relation, obj.support = "held", None
    held = plan_grammar(world, task.instruction)
    root_free = next(line for line in free.splitlines() if line.startswith("root ::="))
    root_held = next(line for line in held.splitlines() if line.startswith("root ::="))
    assert "pick-step" in root_free and "pick-step" not in root_held
    assert "place-step" in root_held
    place = [Step("navigate", {"target": task.goal.target}),
             Step("place", {"target": task.goal.target})]
    assert check_complete(task.instruction, place, holding=True) == []
    assert check_complete(task.instruction, place, holding=False)  # a fresh plan must pick
