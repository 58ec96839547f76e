"""`embodied-collab bench link --json` end to end on a few faults (the full run is in the docs)."""

import json

import pytest

from embodied_collab.cli.main import main

pytestmark = pytest.mark.server

KEYS = {
    "detect_s_p50", "detect_s_p95", "fallback_decision_s_p95", "return_s_p95",
    "faults_injected", "lost_commands", "mission_success_by_outage_s", "cloud_calls_per_mission",
}


def test_bench_link_json(capsys):
    rc = main(["bench", "link", "--faults", "5", "--long-outages", "", "--hold", "0.3,0.5",
               "--missions", "0", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert KEYS <= set(res)
    assert res["faults_injected"] == 5
    assert res["lost_commands"] == 0
    assert res["details"]["undetected_faults"] == 0
    assert 0 < res["detect_s_p95"] <= 1.0
    assert res["return_s_p95"] <= 2.0
    assert res["mission_success_by_outage_s"] is None


def test_bench_link_bad_args(capsys):
    assert main(["bench", "link", "--faults", "0"]) == 2
    assert "--faults" in capsys.readouterr().err
    assert main(["bench", "link", "--missions", "-1"]) == 2
    assert "--missions" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "link", "--long-outages", "a,b"])
