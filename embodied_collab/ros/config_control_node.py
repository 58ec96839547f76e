"""Configuration of the control node: the control loop's parameters plus the node's own."""

from __future__ import annotations

from dataclasses import dataclass

from embodied_collab.control.config_control import ControlConfig, _in_range


@dataclass(kw_only=True)
class ControlNodeConfig(ControlConfig):
    """Parameters of ``control_node``: every :class:`ControlConfig` field, and

    Attributes:
        world_seed: seed of the generated household whose map the robot plans on (used when
            ``world_path`` is empty; the simulator node's ``world_seed``).
        world_path: a world JSON file for the map ("" = generate from ``world_seed``).
        status_rate_hz: rate of the periodic goal status message (it is also sent on every
            change).
    """

    world_seed: int = 0
    world_path: str = ""
    status_rate_hz: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.world_seed, int) or isinstance(self.world_seed, bool) or (
                self.world_seed < 0):
            raise ValueError(f"world_seed must be an integer >= 0, got {self.world_seed!r}")
        if not isinstance(self.world_path, str):
            raise ValueError(f"world_path must be a string, got {self.world_path!r}")
        _in_range("status_rate_hz", self.status_rate_hz, 0.0, 100.0)
