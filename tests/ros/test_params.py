"""ParameterMirror: a config dataclass as validated ROS parameters, on real rclpy nodes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from embodied_collab.ros.config_sim_node import SimNodeConfig
from embodied_collab.ros.params import ParameterMirror, attribute_docs, parameter_type_name


@dataclass(kw_only=True)
class ExampleConfig:
    """An example config.

    Attributes:
        gain: a positive gain.
        names: some names.
        label: optional label ("" = none).
        limits: lower and upper limit.
    """

    gain: float = 1.0
    names: tuple[str, ...] = ("a", "b")
    label: str | None = None
    limits: tuple[float, ...] = (0.0, 1.0)
    count: int = 3

    def __post_init__(self) -> None:
        if not self.gain > 0:
            raise ValueError(f"gain must be > 0, got {self.gain!r}")
        if len(self.limits) != 2 or self.limits[0] >= self.limits[1]:
            raise ValueError(f"limits must be (low, high) with low < high, got {self.limits!r}")


@dataclass(kw_only=True)
class BadTypeConfig:
    mapping: dict[str, int] | None = None


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (bool, ("PARAMETER_BOOL", False)),
        (int, ("PARAMETER_INTEGER", False)),
        (float, ("PARAMETER_DOUBLE", False)),
        (str | None, ("PARAMETER_STRING", True)),
        (tuple[float, ...], ("PARAMETER_DOUBLE_ARRAY", False)),
        (list[str], ("PARAMETER_STRING_ARRAY", False)),
        (tuple[int, int], ("PARAMETER_INTEGER_ARRAY", False)),
    ],
)
def test_parameter_types(tp, expected):
    assert parameter_type_name(tp) == expected


@pytest.mark.parametrize("tp", [dict[str, int], tuple[int, str], int | str, object])
def test_unsupported_types_are_refused(tp):
    with pytest.raises(TypeError, match="unsupported"):
        parameter_type_name(tp)


def test_descriptions_come_from_the_docstring():
    docs = attribute_docs(ExampleConfig)
    assert docs["gain"] == "a positive gain."
    assert docs["label"] == 'optional label ("" = none).'
    assert set(attribute_docs(SimNodeConfig)) == set(SimNodeConfig.__dataclass_fields__)


@pytest.fixture
def ros_context():
    import rclpy
    from rclpy.context import Context
    from rclpy.signals import SignalHandlerOptions

    from tests.ros.conftest import DOMAIN_ID

    context = Context()
    rclpy.init(context=context, domain_id=DOMAIN_ID,
               signal_handler_options=SignalHandlerOptions.NO)
    yield context
    context.try_shutdown()


def _node(context, name="params_test", **overrides):
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    return Node(name, context=context,
                parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])


@pytest.mark.ros
def test_declares_every_field_with_defaults_and_overrides(ros_context):
    node = _node(ros_context, gain=2.5, label="kitchen")
    mirror = ParameterMirror(node, ExampleConfig)
    assert mirror.config == ExampleConfig(gain=2.5, label="kitchen")
    assert node.get_parameter("names").value == ["a", "b"]
    descriptor = node.describe_parameter("gain")
    assert descriptor.description == "a positive gain."
    node.destroy_node()


@pytest.mark.ros
def test_bad_initial_value_raises_with_the_dataclass_message(ros_context):
    node = _node(ros_context, gain=-1.0)
    with pytest.raises(ValueError, match="gain must be > 0, got -1.0"):
        ParameterMirror(node, ExampleConfig)
    node.destroy_node()


@pytest.mark.ros
def test_wrong_initial_type_is_named(ros_context):
    node = _node(ros_context, gain="fast")
    with pytest.raises(ValueError, match="'gain' of ExampleConfig must be of type double"):
        ParameterMirror(node, ExampleConfig)
    node.destroy_node()


@pytest.mark.ros
def test_runtime_updates_are_validated_and_applied(ros_context):
    from rclpy.parameter import Parameter

    node = _node(ros_context)
    seen = []
    mirror = ParameterMirror(node, ExampleConfig, read_only=["count"], on_change=seen.append)

    result = node.set_parameters([Parameter("gain", value=0.0)])[0]
    assert not result.successful
    assert "gain must be > 0, got 0.0" in result.reason
    assert mirror.config.gain == 1.0 and node.get_parameter("gain").value == 1.0

    result = node.set_parameters([Parameter("limits", value=[2.0, 1.0])])[0]
    assert not result.successful and "limits must be" in result.reason

    result = node.set_parameters([Parameter("count", value=5)])[0]
    assert not result.successful and "read-only" in result.reason

    assert node.set_parameters([Parameter("gain", value=4.0)])[0].successful
    assert mirror.config.gain == 4.0 and seen[-1].gain == 4.0
    assert node.set_parameters([Parameter("label", value="")])[0].successful
    assert mirror.config.label is None
    node.destroy_node()


@pytest.mark.ros
def test_unsupported_field_type_is_refused(ros_context):
    node = _node(ros_context)
    with pytest.raises(TypeError, match="unsupported"):
        ParameterMirror(node, BadTypeConfig)
    with pytest.raises(ValueError, match="unknown field"):
        ParameterMirror(_node(ros_context, "other"), ExampleConfig, read_only=["nope"])
    node.destroy_node()
