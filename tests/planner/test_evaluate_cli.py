"""Evaluation on a small suite, the eval CLI, and clear errors for bad suites and checkpoints."""

from __future__ import annotations

import json

import pytest

from embodied_collab.cli.main import main
from embodied_collab.errors import InvalidFileError
from embodied_collab.planner.evaluate import evaluate, load_suite, oracle_agent, random_agent

KEYS = {"success_rate", "spl", "invalid_action_rate", "mean_steps", "decision_latency_ms_p50",
        "episodes"}


def test_oracle_solves_the_suite_and_random_does_worse(small_suite):
    oracle = evaluate(small_suite.tasks, oracle_agent())
    assert KEYS <= set(oracle)
    assert oracle["episodes"] == len(small_suite)
    assert oracle["success_rate"] == 1.0
    assert oracle["spl"] == pytest.approx(1.0)
    assert oracle["invalid_action_rate"] == 0.0
    rand = evaluate(small_suite.tasks, random_agent(0))
    assert rand["success_rate"] < oracle["success_rate"]
    assert rand["invalid_action_rate"] > 0.0
    assert rand["mean_steps"] > oracle["mean_steps"]


def test_eval_cli_prints_the_metrics_json(tmp_path, small_suite, capsys):
    path = tmp_path / "suite.json"
    small_suite.save(path)
    rc = main(["eval", "planner", "--suite", str(path), "--policy", "oracle", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert KEYS <= set(out) and out["episodes"] == len(small_suite)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "file not found"),
        ("{not json", "not valid JSON"),
        ('{"format": "embodied_collab.suite", "version": 1}', "tasks"),
        ('{"format": "embodied_collab.suite", "version": 1, "tasks": [{"id": "a", '
         '"instruction": "x", "world_seed": 3, "success": {"holding": "unicorn_9"}}]}',
         "unicorn_9"),
    ],
)
def test_bad_suite_files_raise_invalid_file_error(tmp_path, content, match, capsys):
    path = tmp_path / "suite.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidFileError, match=match):
        load_suite(path)
    rc = main(["eval", "planner", "--suite", str(path), "--policy", "oracle", "--json"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "error" in err and str(path) in err and "Traceback" not in err


def test_bad_checkpoint_and_unknown_policy_are_clear_cli_errors(tmp_path, small_suite, capsys):
    suite = tmp_path / "suite.json"
    small_suite.save(suite)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage" * 50)
    assert main(["eval", "planner", "--suite", str(suite), "--policy", str(bad)]) == 2
    assert "not a readable planner checkpoint" in capsys.readouterr().err
    assert main(["eval", "planner", "--suite", str(suite), "--policy", "tea-leaves"]) == 2
    assert "unknown policy" in capsys.readouterr().err
    missing = tmp_path / "missing.zip"
    assert main(["eval", "planner", "--suite", str(suite), "--policy", str(missing)]) == 2
    assert "not found" in capsys.readouterr().err


def test_bench_runs_baselines_side_by_side_and_writes_table_and_plot(tmp_path):
    from embodied_collab.planner.bench import bench_planner, markdown_table, plot
    from embodied_collab.sim.catalog import DIFFICULTIES

    report = bench_planner(episodes=2, policies=("oracle", "random"), seed=5)
    assert set(report["results"]) == {"oracle", "random"}
    for per in report["results"].values():
        assert set(per) == set(DIFFICULTIES) | {"all"}
        assert per["all"]["episodes"] == 2 * len(DIFFICULTIES)
    assert report["results"]["oracle"]["all"]["success_rate"] == 1.0
    table = markdown_table(report)
    assert table.count("| oracle |") == len(DIFFICULTIES) + 1
    plot(report, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").stat().st_size > 1000


def test_committed_checkpoint_loads_and_solves_a_fetch_task():
    from embodied_collab.planner import load_default
    from embodied_collab.planner.train import heldout_suite

    policy = load_default()
    assert policy.model.n_parameters() <= 10_000_000
    suite = heldout_suite(2, "fetch", seed=31)
    result = evaluate(suite.tasks, lambda env, obs, info: policy.act_env(env, info)[0])
    assert result["episodes"] == 2
    assert result["success_rate"] > 0.0


def test_mlp_ppo_baseline_trains_saves_and_evaluates_through_the_cli(tmp_path, small_suite,
                                                                      tiny_cfg, capsys):
    """The MLP-PPO baseline end to end: a tiny SB3 run, its zip, then ``eval --policy``."""
    from embodied_collab.planner.evaluate import MLP_PPO_FILE
    from embodied_collab.planner.train import train_mlp_ppo

    summary = train_mlp_ppo(tiny_cfg, tmp_path, progress=False, steps=256)
    assert summary["steps"] == 256
    model = tmp_path / MLP_PPO_FILE
    assert model.is_file()
    suite = tmp_path / "suite.json"
    small_suite.save(suite)
    rc = main(["eval", "planner", "--suite", str(suite), "--policy", str(model), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert KEYS <= set(out) and out["episodes"] == len(small_suite)
    assert 0.0 <= out["success_rate"] <= 1.0 and out["mean_steps"] >= 1.0
