"""The graph declaration, the parameter files and the launch files agree with each other."""

from __future__ import annotations

import ast
import importlib.util

import pytest

from embodied_collab.config import config_from_dict
from embodied_collab.errors import InvalidFileError
from embodied_collab.ros import graph


def test_every_node_is_complete():
    names = [s.name for s in graph.GRAPH]
    assert len(names) == len(set(names))
    for spec in graph.GRAPH:
        assert spec.modes and spec.modes <= set(graph.MODES)
        assert spec.params_path().is_file(), spec.params_path()
        config_cls = spec.config_class()
        # every key validates against the node's config dataclass (unknown keys refused)
        config_from_dict(config_cls, graph.read_params(spec), source=str(spec.params_path()))
        for key in spec.topics:
            assert key in graph.TOPICS or key in graph.SERVICES


def test_every_config_field_is_in_its_params_file():
    """The YAML files are where ROS users look for a node's settings: none may be missing."""
    import dataclasses

    for spec in graph.GRAPH:
        fields = {f.name for f in dataclasses.fields(spec.config_class())}
        missing = fields - set(graph.read_params(spec))
        assert not missing, f"{spec.params_file} lacks {sorted(missing)}"


def test_robot_mode_is_the_sim_stack_without_the_simulator():
    sim = {s.name for s in graph.nodes_for("sim")}
    robot = {s.name for s in graph.nodes_for("robot")}
    assert "sim" in sim and "sim" not in robot
    assert robot <= sim
    with pytest.raises(ValueError, match="unknown graph mode"):
        graph.nodes_for("hardware")


def test_launch_arguments_have_defaults_and_descriptions():
    for mode in graph.MODES:
        args = graph.launch_arguments(mode)
        names = [a.name for a in args]
        assert "use_sim_time" in names and len(names) == len(set(names))
        for key in [*graph.TOPICS, *graph.SERVICES]:
            assert f"{key}_topic" in names
        for arg in args:
            assert arg.description and isinstance(arg.default, str)
    assert {a.name: a.default for a in graph.launch_arguments("sim")}["use_sim_time"] == "true"
    assert {a.name: a.default for a in graph.launch_arguments("robot")}["use_sim_time"] == "false"


def test_ros_args_match_what_launch_passes():
    spec = graph.node_spec("sim")
    args = graph.ros_args(spec, topics={"cmd_vel": "/base/cmd_vel"}, use_sim_time=True,
                          namespace="robot1")
    assert args[0] == "--ros-args"
    assert "__node:=sim" in args and "__ns:=/robot1" in args
    assert "/cmd_vel:=/base/cmd_vel" in args and "use_sim_time:=true" in args
    assert args[args.index("--params-file") + 1] == str(spec.params_path())
    with pytest.raises(ValueError, match="unknown topic key"):
        graph.ros_args(spec, topics={"cmdvel": "/x"})
    with pytest.raises(ValueError, match="unknown node"):
        graph.node_spec("planner9000")


def test_params_file_needs_its_node_section(tmp_path):
    spec = graph.node_spec("sim")
    (tmp_path / spec.params_file).write_text("other:\n  ros__parameters: {a: 1}\n")
    with pytest.raises(InvalidFileError, match="no section for node 'sim'"):
        graph.read_params(spec, tmp_path)
    (tmp_path / spec.params_file).write_text("/**/sim:\n  rate_factor: 2.0\n")
    with pytest.raises(InvalidFileError, match="ros__parameters"):
        graph.read_params(spec, tmp_path)


@pytest.mark.parametrize("mode", graph.MODES)
def test_launch_files_build_their_mode_from_the_graph(mode):
    path = graph.LAUNCH_DIR / f"{mode}.launch.py"
    tree = ast.parse(path.read_text())
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in funcs
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "generate"]
    assert len(calls) == 1 and ast.literal_eval(calls[0].args[0]) == mode


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None,
                    reason="launch_ros is not installable from the package registries; "
                    "runs where ROS 2 Jazzy is installed")
@pytest.mark.parametrize("mode", graph.MODES)
def test_launch_description_with_launch_ros(mode):
    from launch_ros.actions import Node

    spec = importlib.util.spec_from_file_location("lf", graph.LAUNCH_DIR / f"{mode}.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    nodes = [e for e in description.entities if isinstance(e, Node)]
    assert len(nodes) == len(graph.nodes_for(mode))
    declared = {a.name for a in description.get_launch_arguments()}
    assert declared == {a.name for a in graph.launch_arguments(mode)}
