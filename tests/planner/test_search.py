"""Search and attribute tasks: the observable search teacher and the search features."""

from __future__ import annotations

import torch

from embodied_collab.planner.config_planner import PlannerConfig
from embodied_collab.planner.model import (
    N_GROUND,
    N_GROUND_V1,
    N_GROUND_V2,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from embodied_collab.planner.teachers import OracleTeacher, search_step
from embodied_collab.planner.tokenizer import PlanTokenizer


def _hidden_search_task():
    """A generated search task whose target starts inside a closed container."""
    from embodied_collab.sim.generate import generate_task

    for seed in range(2_000_000, 2_000_050):
        task = generate_task(seed, "search")
        obj = task.world().object_by_id(task.goal.object)
        if obj.relation == "in":
            return task
    raise AssertionError("no search task with a hidden target in 50 worlds")


def test_search_labels_do_not_depend_on_where_the_hidden_target_is():
    from embodied_collab.sim.planning_env import HouseholdPlanEnv

    task = _hidden_search_task()
    env = HouseholdPlanEnv()
    _, info = env.reset(options={"task": task})
    teacher = OracleTeacher()
    label = teacher.act(env, info)
    assert label == search_step(env)
    name = env.codec.names[label]
    verb, arg = name.split()
    assert arg != task.goal.target  # the destination is never searched
    world = env.unwrapped.world
    if arg in env.codec.furn_slot:
        f = world.furniture_by_id(arg)
        assert f.container and not f.open
    else:
        assert not env.unwrapped.episode.explored[env.codec.room_slot[arg]]
    # move the hidden target into another closed container: the label stays the same
    obj = world.object_by_id(task.goal.object)
    others = [f for f in world.furniture if f.container and not f.open
              and f.id not in (obj.support, task.goal.target)]
    assert others
    old = obj.support
    obj.support = others[0].id
    try:
        assert teacher.act(env, info) == label
    finally:
        obj.support = old
    # the privileged oracle walks straight to the hidden container instead
    assert OracleTeacher(explore=False).act(env, info) == env.codec.encode(f"navigate {old}")


def test_search_teacher_solves_search_and_attribute_tasks():
    from embodied_collab.planner.evaluate import evaluate
    from embodied_collab.planner.train import heldout_suite

    teacher = OracleTeacher()
    for k, diff in enumerate(("search", "attributes")):
        suite = heldout_suite(4, diff, seed=31 + k)
        m = evaluate(suite.tasks, lambda e, o, i: teacher.act(e, i))
        assert m["success_rate"] == 1.0 and m["invalid_action_rate"] == 0.0
        assert 0.0 < m["spl"] <= 1.0


def _features(text: str, acts: list[str]) -> torch.Tensor:
    tok = PlanTokenizer()
    model = build_model(PlannerConfig(n_layer=1, n_head=2, n_embd=32), tok)
    ids = torch.tensor([tok.encode(text)])
    table = torch.tensor([tok.encode_action(a) for a in acts])
    hidden, trimmed, _ = model.encode(ids)
    _, _, weights, count = model.mentions(hidden, trimmed, table)
    g = model.grounding(trimmed, table, weights, count)[0]
    assert g.shape == (len(acts), N_GROUND)
    return g


def test_search_features_read_container_state_rooms_and_matches():
    text = ("instruction: Find the small blue ball and put it on the sofa in the office. "
            "kitchen explored: counter_1 [large blue ball_1]; fridge_1 closed; "
            "cabinet_1 open [small red cup_1 (in)] "
            "office unexplored: sofa_1; dresser_1 closed "
            "hallway unexplored: shelf_1 "
            "doors: hallway-kitchen, hallway-office "
            "robot: at cabinet_1 in kitchen, holding nothing "
            "history: navigate cabinet_1 -> ok; open cabinet_1 -> ok")
    acts = ["navigate fridge_1", "navigate cabinet_1", "navigate dresser_1", "navigate hallway",
            "navigate office", "pick ball_1", "pick cup_1"]
    g = _features(text, acts)
    assert g[:, 12].tolist() == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # still closed
    assert g[:, 13].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0]  # room explored
    assert g[:, 14].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0]  # the robot's room
    assert g[:, 15].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]  # next door
    assert (g[:, 16] == 0.0).all()  # the large blue ball is not the small one
    assert (g[:, 17] == 0.0).all() and (g[:, 18:20] == 0.0).all()


def test_match_and_holding_features():
    text = ("instruction: Put the blue ball in the fridge in the kitchen. "
            "kitchen explored: counter_1 [large blue ball_1, small red ball_2]; fridge_1 closed "
            "doors: none "
            "robot: at counter_1 in kitchen, holding nothing")
    acts = ["navigate counter_1", "pick ball_1", "pick ball_2", "navigate fridge_1"]
    g = _features(text, acts)
    assert (g[:, 16] == 1.0).all()  # no size named: the blue ball matches
    assert g[:, 17].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert (g[:, 18:20] == 0.0).all()
    held = text.replace("counter_1 [large blue ball_1, small red ball_2]",
                        "counter_1 [small red ball_2]").replace("holding nothing",
                                                                "holding large blue ball_1")
    g = _features(held, acts)
    assert (g[:, 18] == 1.0).all() and (g[:, 19] == 1.0).all() and (g[:, 16] == 0.0).all()


def test_destination_features_say_whether_to_put_it_in_or_on():
    acts = ["navigate cabinet_1", "open cabinet_1", "navigate cabinet_2", "navigate kitchen",
            "navigate bathroom"]
    graph = ("kitchen explored: cabinet_1 closed []; counter_1 [] "
             "bathroom explored: cabinet_2 closed [] "
             "doors: bathroom-kitchen robot: at cabinet_1 in kitchen, holding large blue ball_1")
    put_on = _features("instruction: Look for the blue ball and bring it to the cabinet in the "
                       "kitchen. " + graph, acts)
    assert put_on[:, 20].tolist() == [0.0] * 5
    assert put_on[:, 21].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]  # cabinet_1 (and its room)
    for instruction in ("Put the blue ball in the cabinet in the kitchen.",
                        "Move the blue ball from the cabinet in the bathroom into the cabinet in "
                        "the kitchen."):
        put_in = _features(f"instruction: {instruction} " + graph, acts)
        assert put_in[:, 20].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]
        assert put_in[:, 21].tolist() == [0.0] * 5
    # "in the kitchen" names a room, not the container: still "on"
    g = _features("instruction: Put the blue ball on the cabinet in the kitchen. " + graph, acts)
    assert g[:, 20].sum() == 0.0 and g[0, 21] == 1.0


def test_checkpoints_of_the_first_feature_set_still_load(tmp_path):
    tok = PlanTokenizer()
    cfg = PlannerConfig(n_layer=1, n_head=2, n_embd=32)
    old = build_model(cfg, tok, n_ground=N_GROUND_V1).eval()
    path = save_checkpoint(tmp_path / "v1.pt", old, tok, cfg)
    model, _, _, _ = load_checkpoint(path)
    assert model.n_ground == N_GROUND_V1
    ids = torch.tensor([tok.encode("instruction: go . kitchen explored : table_1 []")])
    table = torch.tensor([tok.encode_action("navigate table_1"), tok.encode_action("done")])
    with torch.no_grad():
        assert torch.allclose(model(ids, table)[0], old(ids, table)[0])
    second = build_model(cfg, tok, n_ground=N_GROUND_V2).eval()
    model, _, _, _ = load_checkpoint(save_checkpoint(tmp_path / "v2.pt", second, tok, cfg))
    assert model.n_ground == N_GROUND_V2
    with torch.no_grad():
        assert torch.allclose(model(ids, table)[0], second(ids, table)[0])


def test_config_switches_select_the_first_generation_model_and_teacher():
    from embodied_collab.planner.train import make_teacher

    tok = PlanTokenizer()
    old_cfg = PlannerConfig(n_layer=1, n_head=2, n_embd=32, search_features=False,
                            search_teacher=False)
    assert build_model(old_cfg, tok).n_ground == N_GROUND_V1
    teacher, cleanup = make_teacher(old_cfg)
    assert teacher.explore is False
    cleanup()
    new_cfg = PlannerConfig(n_layer=1, n_head=2, n_embd=32)
    assert build_model(new_cfg, tok).n_ground == N_GROUND
    assert make_teacher(new_cfg)[0].explore is True
