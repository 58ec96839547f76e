"""Decision-time rules of the SLM policy that the teacher also follows."""

from __future__ import annotations

import numpy as np

from embodied_collab.planner.policy import SLMPolicy, last_failed_action, load_default


def test_last_failed_action_is_read_from_the_history():
    assert last_failed_action("robot: at start\nhistory: none") is None
    assert last_failed_action("history: navigate table_1 -> ok") is None
    text = ("history: navigate table_1 -> ok; place bed_1 -> failed: bed_1 is out of reach; "
            "navigate there first")
    assert last_failed_action(text) == "place bed_1"
    assert last_failed_action("history: pick cup_1 -> failed: x; navigate bed_1 -> ok") is None
    assert last_failed_action("no history line") is None


def test_an_action_that_just_failed_is_not_repeated():
    """In a real episode: after a failed `place`, the policy gives that slot probability 0
    (the world did not change, so it would fail again); the model alone may still pick it."""
    from embodied_collab.planner.train import heldout_suite
    from embodied_collab.sim.planning_env import HouseholdPlanEnv

    task = heldout_suite(1, "search", 4321).tasks[0]
    env = HouseholdPlanEnv(suite=[task])
    _, info = env.reset(seed=0, options={"task_index": 0})
    names = list(env.unwrapped.codec.names)
    target = task.goal.target
    _, _, _, _, info = env.step(names.index(f"place {target}"))  # holding nothing: fails
    assert not info["action_ok"]
    assert last_failed_action(info["text"]) == f"place {target}"
    policy = load_default()
    assert policy.skip_failed_action
    p = policy.scores(info["text"], names)
    slot = names.index(f"place {target}")
    assert p[slot] == 0.0 and abs(float(p.sum()) - 1.0) < 1e-5
    np.testing.assert_allclose(p, policy.scores_reference(info["text"], names), atol=1e-5)
    free = SLMPolicy(policy.model, policy.tokenizer, policy.cfg, skip_failed_action=False)
    assert free.scores(info["text"], names)[slot] > 0.0
    # with the env's action mask as well, both restrictions apply
    masked = SLMPolicy(policy.model, policy.tokenizer, policy.cfg, action_masking=True)
    mask = np.asarray(info["action_mask"], dtype=bool)
    allowed = masked.allowed(np.asarray(masked.encode(info["text"])),
                             masked._table(names)[1], info["action_mask"], info["text"], names)
    assert not allowed[slot] and not (allowed & ~mask).any()
    assert np.asarray(info["action_mask"], dtype=bool).tolist() == mask.tolist()  # not changed
