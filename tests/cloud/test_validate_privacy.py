"""Pure logic: plan validation/refusal, local repair, plan-to-actions mapping, privacy filter."""

from __future__ import annotations

import pytest

from embodied_collab.cloud.execute import plan_to_actions
from embodied_collab.cloud.pii_data import generate_commands, score
from embodied_collab.cloud.privacy import PrivacyFilter
from embodied_collab.cloud.validate import autofix, check_complete, plan_to_dicts, validate_plan
from embodied_collab.sim.generate import generate_task


@pytest.fixture(scope="module")
def task():
    return generate_task(10, "multi_step")  # ball_1 on shelf_3 -> in closed cabinet_1


def S(skill, **args):
    return {"skill": skill, "args": args}


def test_good_plan_is_valid_and_executes(task):
    w = task.world()
    plan = [
        S("navigate", target="shelf_3"),
        S("pick", object="ball_1"),
        S("navigate", target="cabinet_1"),
        S("open", target="cabinet_1"),
        S("place", target="cabinet_1"),
        S("say", text="Done."),
        S("wait", seconds=2),
    ]
    steps, errors = validate_plan({"steps": plan}, w)
    assert errors == [] and len(steps) == 7
    actions = plan_to_actions(plan_to_dicts(steps), w)
    assert actions == [
        "navigate shelf_3",
        "pick ball_1",
        "navigate cabinet_1",
        "open cabinet_1",
        "place cabinet_1",
        "done",
    ]


@pytest.mark.parametrize(
    ("plan", "match"),
    [
        ([S("run_shell", command="rm -rf /")], "'run_shell' is not allowed"),
        ([S("navigate", target="kitchen"), S("python", code="import os")], "not allowed"),
        ([S("navigate", target="mars")], "not a room or furniture id"),
        ([S("pick", object="ball_1")], "navigate to 'shelf_3' first"),
        ([S("navigate", target="cabinet_1"), S("place", target="cabinet_1")], "holds nothing"),
        (
            [
                S("navigate", target="shelf_3"),
                S("pick", object="ball_1"),
                S("navigate", target="fridge_1"),
                S("place", target="fridge_1"),
            ],
            "is closed",
        ),
        ([S("open", target="shelf_3")], "not a container"),
        ([S("wait", seconds=-1)], "seconds must be in"),
        ([S("wait", seconds="forever")], "must be a number"),
        ([S("say", text="")], "non-empty"),
        ([S("navigate", target="shelf_3", speed=9)], "unexpected argument"),
        ([S("navigate")], "missing argument"),
        ([S("search", object="the meaning of life")], "names no known object kind"),
        ([], "empty"),
        ("rm -rf /", "must be a JSON object"),
    ],
)
def test_invalid_plans_are_refused_with_clear_errors(task, plan, match):
    _, errors = validate_plan({"steps": plan} if isinstance(plan, list) else plan, task.world())
    assert errors and any(match in e for e in errors), errors


def test_too_long_plan_is_refused(task):
    _, errors = validate_plan([S("wait", seconds=1)] * 20, task.world(), max_steps=16)
    assert any("at most 16" in e for e in errors)


def test_autofix_inserts_missing_prerequisites_but_never_unknown_skills(task):
    w = task.world()
    skipped = [S("pick", object="small purple ball"), S("place", target="cabinet_1")]
    fixed = plan_to_dicts(autofix(skipped, w, instruction="Put it in the cabinet."))
    assert [s["skill"] for s in fixed] == ["navigate", "pick", "navigate", "open", "place"]
    assert validate_plan(fixed, w)[1] == []
    evil = [S("exec", code="x"), S("pick", object="ball_1")]
    assert validate_plan(plan_to_dicts(autofix(evil, w)), w)[1] != []


def test_check_complete_wants_delivery(task):
    w = task.world()
    steps, _ = validate_plan([S("navigate", target="shelf_3"), S("pick", object="ball_1")], w)
    assert check_complete("Put the purple ball in the cabinet", steps)
    assert check_complete("Pick up the purple ball", steps) == []
    assert check_complete("Pick up the purple ball", []) != []


def test_search_expands_to_visits_until_seen():
    t = generate_task(3, "search")  # green bottle hidden in a closed container
    w = t.world()
    plan = [
        S("search", object="green bottle"),
        S("pick", object="green bottle"),
        S("navigate", target="shelf_1"),
        S("place", target="shelf_1"),
    ]
    steps, errors = validate_plan(plan, w)
    assert errors == []
    actions = plan_to_actions(plan_to_dicts(steps), w)
    target = t.success["on"][0]
    assert f"pick {target}" in actions and actions[-2:] == ["place shelf_1", "done"]
    support = w.object_by_id(target).support
    assert actions.index(f"open {support}") < actions.index(f"pick {target}")


def test_privacy_redacts_and_restores():
    f = PrivacyFilter()
    text = (
        "Tell Anna Schmidt (+1 415-555-0134, anna.schmidt@example.org) that the Red cup "
        "from the Oak table in the Kitchen goes to 221B Baker Street."
    )
    red = f.redact(text)
    for secret in ("Anna", "Schmidt", "555", "example.org", "Baker"):
        assert secret not in red.text
    for kept in ("Red cup", "Oak table", "Kitchen"):
        assert kept in red.text
    assert red.counts == {"PERSON": 1, "PHONE": 1, "EMAIL": 1, "ADDRESS": 1}
    plan = [{"skill": "say", "args": {"text": "[PERSON_1], your cup is ready"}}]
    assert f.restore(plan, red.mapping)[0]["args"]["text"] == "Anna Schmidt, your cup is ready"


@pytest.mark.parametrize(
    "text",
    [
        "Put 2 red cups on the Oak table in the Kitchen.",
        "Wait 10 seconds, then open the Walnut Fridge in the Living Room.",
        "At 10:30 bring the Large Blue ball to the Bedroom shelf_2.",
    ],
)
def test_household_words_are_never_redacted(text):
    assert PrivacyFilter().find(text) == []


def test_same_value_same_placeholder():
    red = PrivacyFilter().redact("Call liam, then call Liam again")
    assert red.text == "Call [PERSON_1], then call [PERSON_1] again"


def test_generated_commands_score_is_computed_honestly():
    cmds = generate_commands(200, seed=5)
    assert sum(len(c.spans) for c in cmds) > 150
    s = score(PrivacyFilter(), cmds)
    assert s["pii_recall"] >= 0.98 and s["pii_precision"] >= 0.95

    # a filter that finds nothing scores zero recall: the metric can fail
    class Blind(PrivacyFilter):
        def find(self, text):
            return []

    assert score(Blind(), cmds)["pii_recall"] == 0.0


def test_oracle_like_plans_succeed_in_the_planning_env():
    from embodied_collab.cloud.bench import execute_plan

    t = generate_task(10, "multi_step")
    good = [
        S("navigate", target="shelf_3"),
        S("pick", object="ball_1"),
        S("navigate", target="cabinet_1"),
        S("open", target="cabinet_1"),
        S("place", target="cabinet_1"),
    ]
    assert execute_plan(good, t) is True
    assert execute_plan(good[:2], t) is False  # stops short: the predicate does not hold
    s = generate_task(3, "search")
    dest = s.success["on"][1]
    plan = [
        S("search", object="green bottle"),
        S("pick", object="green bottle"),
        S("navigate", target=dest),
        S("place", target=dest),
    ]
    assert execute_plan(plan, s) is True
