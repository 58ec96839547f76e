"""Procedural generation: determinism, difficulty parsing, suites, and the ``sim`` CLI."""

from __future__ import annotations

import json

import pytest

from embodied_collab.cli.main import main
from embodied_collab.sim.catalog import DIFFICULTIES
from embodied_collab.sim.generate import (
    generate_suite,
    generate_task,
    generate_world,
    parse_difficulty,
)
from embodied_collab.sim.planning_env import MAX_FURNITURE, MAX_OBJECTS, MAX_ROOMS
from embodied_collab.sim.tasks import evaluate


def test_world_generation_is_deterministic():
    for seed in (0, 5, 123456):
        assert generate_world(seed).to_dict() == generate_world(seed).to_dict()
    assert generate_world(1).to_dict() != generate_world(2).to_dict()


def test_task_generation_is_deterministic_and_unsolved_at_start():
    for diff in DIFFICULTIES:
        for seed in range(5):
            a, b = generate_task(seed, diff), generate_task(seed, diff)
            assert (a.instruction, a.success) == (b.instruction, b.success)
            assert not evaluate(a.success, a.world())


def test_suite_generation_is_deterministic():
    a = generate_suite(12, "mixed", seed=7)
    b = generate_suite(12, "mixed", seed=7)
    assert a.to_dict() == b.to_dict()
    assert {t.difficulty for t in a} == set(DIFFICULTIES)
    assert generate_suite(12, "mixed", seed=8).to_dict() != a.to_dict()


def test_generated_worlds_fit_the_planning_slots():
    for seed in range(60):
        w = generate_world(seed)
        assert len(w.rooms) <= MAX_ROOMS and len(w.furniture) <= MAX_FURNITURE
        assert len(w.objects) <= MAX_OBJECTS


def test_parse_difficulty():
    assert parse_difficulty("mixed") == list(DIFFICULTIES)
    assert parse_difficulty("2") == ["multi_step"]
    with pytest.raises(ValueError, match="difficulty"):
        parse_difficulty("hard")


def test_cli_generate_world_and_run(tmp_path, capsys):
    out = tmp_path / "suite.json"
    assert main(["sim", "generate", "--n", "5", "--difficulty", "search", "--seed", "3",
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["format"] == "embodied_collab.suite" and len(doc["tasks"]) == 5
    assert generate_suite(5, "search", seed=3).to_dict()["tasks"] == doc["tasks"]
    assert main(["sim", "validate", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("OK: suite")

    wpath, png = tmp_path / "w.json", tmp_path / "w.png"
    assert main(["sim", "world", "--seed", "4", "--out", str(wpath), "--png", str(png)]) == 0
    assert json.loads(wpath.read_text()) == generate_world(4).to_dict()
    assert png.read_bytes()[:4] == b"\x89PNG"

    capsys.readouterr()
    run_dir = tmp_path / "run"
    assert main(["sim", "run", "--seed", "2", "--difficulty", "search", "--out",
                 str(run_dir), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["success"] and summary["actions"][-1]["action"] == "done"
    assert summary["path_length_m"] == pytest.approx(summary["oracle_path_length_m"])
    assert (run_dir / "run.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((run_dir / "run.json").read_text())["instruction"] == summary["instruction"]


def test_cli_user_errors(tmp_path, capsys):
    assert main(["sim", "generate", "--n", "0", "--out", str(tmp_path / "x.json")]) == 2
    assert "--n must be >= 1" in capsys.readouterr().err
    assert main(["sim", "generate", "--n", "2", "--difficulty", "hard",
                 "--out", str(tmp_path / "x.json")]) == 2
    assert "difficulty" in capsys.readouterr().err
