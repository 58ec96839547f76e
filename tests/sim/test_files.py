"""World and suite files: round trips, errors naming the JSON path, and ``sim validate``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from embodied_collab.cli.main import main
from embodied_collab.errors import InvalidFileError
from embodied_collab.sim.generate import generate_suite, generate_world
from embodied_collab.sim.tasks import Suite
from embodied_collab.sim.world import World


@pytest.fixture(scope="module")
def world_doc():
    return generate_world(3).to_dict()


def _suite_doc(world_doc):
    world_doc = copy.deepcopy(world_doc)
    return {
        "format": "embodied_collab.suite", "version": 1, "name": "hand-written",
        "tasks": [
            {"id": "t1", "instruction": "Pick up the cup.", "world_seed": 3,
             "success": {"holding": world_doc["objects"][0]["id"]}},
            {"id": "t2", "instruction": "Put it on the table.", "world": world_doc,
             "success": {"on": [world_doc["objects"][1]["id"], world_doc["furniture"][0]["id"]]}},
        ],
    }


def test_suite_round_trip(tmp_path):
    suite = generate_suite(8, "mixed", seed=2, name="rt")
    path = tmp_path / "suite.json"
    suite.save(path)
    loaded = Suite.load(path)
    assert loaded.to_dict() == suite.to_dict()
    loaded.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == path.read_text()


def test_world_round_trip(tmp_path, world_doc):
    path = tmp_path / "w.json"
    World.from_dict(world_doc).save(path)
    assert World.load(path).to_dict() == world_doc


def test_hand_written_suite_with_inline_and_file_worlds(tmp_path, world_doc):
    (tmp_path / "worlds").mkdir()
    (tmp_path / "worlds" / "w.json").write_text(json.dumps(world_doc))
    doc = _suite_doc(world_doc)
    doc["tasks"].append({"id": "t3", "instruction": "Go to the kitchen.",
                         "world_file": "worlds/w.json", "success": {"robot_in": "kitchen"}})
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    suite = Suite.load(path)
    assert [t.id for t in suite] == ["t1", "t2", "t3"]
    assert suite.tasks[2].world().to_dict() == world_doc


def _mutations(world_doc):
    """(name, document or raw text, kind, expected JSON path, message fragment)."""
    w = world_doc
    def world_with(fn):
        d = copy.deepcopy(w)
        fn(d)
        return d
    def suite_with(fn):
        d = _suite_doc(w)
        fn(d)
        return d
    obj = w["objects"][0]["id"]
    return [
        ("not json", "{oops", "$", "not valid JSON"),
        ("wrong format", world_with(lambda d: d.update(format="something")), "$.format", ""),
        ("missing field", world_with(lambda d: d.pop("robot")), "$", "robot"),
        ("bad bounds", world_with(lambda d: d["rooms"][1].update(bounds=[5, 0, 1, 3])),
         "$.rooms[1].bounds", "x0 < x1"),
        ("object on unknown furniture",
         world_with(lambda d: d["objects"][2].update(support="nowhere_1", relation="on")),
         "$.objects[2].support", "unknown furniture"),
        ("unknown colour", world_with(lambda d: d["objects"][0].update(colour="mauve")),
         "$.objects[0].colour", "mauve"),
        ("furniture in unknown room", world_with(lambda d: d["furniture"][0].update(room="attic")),
         "$.furniture[0].room", "attic"),
        ("unknown id in predicate",
         suite_with(lambda d: d["tasks"][1].update(success={"holding": "unicorn_1"})),
         "$.tasks[1].success", "unicorn_1"),
        ("bad predicate key", suite_with(lambda d: d["tasks"][0].update(success={"fly": obj})),
         "$.tasks[0].success", "fly"),
        ("task without world", suite_with(lambda d: d["tasks"][0].pop("world_seed")),
         "$.tasks[0]", ""),
        ("missing instruction", suite_with(lambda d: d["tasks"][0].pop("instruction")),
         "$.tasks[0]", "instruction"),
        ("bad inline world",
         suite_with(lambda d: d["tasks"][1]["world"]["rooms"][0].update(bounds=[1, 1, 0, 0])),
         "$.tasks[1].world.rooms[0].bounds", "x0 < x1"),
        ("duplicate task id", suite_with(lambda d: d["tasks"][1].update(id="t1")),
         "$.tasks[1].id", "duplicate"),
    ]


def _write(tmp_path, doc):
    path = tmp_path / "f.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def _load(path):
    doc = json.loads(path.read_text())
    return (World.load if doc.get("format") != "embodied_collab.suite" else Suite.load)(path)


@pytest.mark.parametrize("case", range(13))
def test_bad_files_name_the_json_path(tmp_path, world_doc, case, capsys):
    name, doc, json_path, fragment = _mutations(world_doc)[case]
    path = _write(tmp_path, doc)
    if name not in ("not json", "wrong format"):
        with pytest.raises(InvalidFileError) as exc:
            _load(path)
        assert exc.value.json_path == json_path, (name, str(exc.value))
        assert fragment in str(exc.value)
    # the CLI reports the same first error and exits 1
    assert main(["sim", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("INVALID: ") and f": {json_path}: " in err and fragment in err


def test_validate_good_files(tmp_path, world_doc, capsys):
    wpath = _write(tmp_path, world_doc)
    spath = tmp_path / "s.json"
    spath.write_text(json.dumps(_suite_doc(world_doc)))
    proc = subprocess.run([sys.executable, "-m", "embodied_collab.cli.main", "sim",
                           "validate", str(wpath)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK: world ")
    assert main(["sim", "validate", str(spath)]) == 0
    assert capsys.readouterr().out.startswith("OK: suite 'hand-written': 2 tasks")
    proc = subprocess.run([sys.executable, "-m", "embodied_collab.cli.main", "sim", "validate",
                           str(tmp_path / "missing.json")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and "file not found" in proc.stderr


def test_shipped_data_validates():
    """Every shipped suite passes the schema; the example world, the hand-written suite and the
    mixed held-out suite are validated in full (worlds generated, predicate ids checked)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "sim"
    suites = sorted(root.glob("suites/*.json"))
    assert {p.name for p in suites} >= {"heldout_mixed.json", "example_handwritten.json",
                                       "train_mixed.json"}
    for f in suites:
        assert len(Suite.load(f, check_worlds=False)) > 0
    for f in (root / "worlds" / "example.json", root / "suites" / "example_handwritten.json"):
        assert main(["sim", "validate", str(f)]) == 0, f
    doc = json.loads((root / "suites" / "heldout_mixed.json").read_text())
    doc["tasks"] = doc["tasks"][:24]
    assert len(Suite.from_dict(doc, check_worlds=True)) == 24
