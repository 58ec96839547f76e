"""Perception for the main job: camera frames -> detector -> object map -> planner scene graph.

:class:`Perception` is what the executive/demo calls instead of reading the simulator's ground
truth: :meth:`Perception.look_around` renders the robot's RGB-D camera at a few headings, detects,
locates and fuses the objects, and marks the world objects that the confirmed tracks match as
observed in the :class:`~embodied_collab.sim.scene_graph.SceneGraph`.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from embodied_collab.vision.config_vision import VisionConfig
from embodied_collab.vision.detector import Detection, Detector, make_detector
from embodied_collab.vision.localise import locate_detections
from embodied_collab.vision.object_map import ObjectMap, mark_observed

logger = logging.getLogger(__name__)


class Perception:
    """Detector + object map, fed by camera frames.

    Args:
        config: vision settings.
        detector: a detector (default: built from ``config``).
    """

    def __init__(self, config: VisionConfig | None = None,
                 detector: Detector | None = None) -> None:
        self.config = config or VisionConfig()
        self.detector = detector or make_detector(self.config)
        self.map = ObjectMap(self.config)

    def observe(self, rgb: np.ndarray, depth: np.ndarray | None, intrinsics: tuple,
                pose: tuple[float, float, float], stamp: float = 0.0,
                ) -> list[tuple[Detection, tuple[float, float, float]]]:
        """Detect in one frame, locate with depth and fuse into the map; returns sightings."""
        dets = self.detector.detect(rgb, depth, intrinsics)
        if depth is None:
            return []
        sightings = locate_detections(dets, depth, intrinsics, pose, self.config)
        self.map.update(sightings, stamp)
        return sightings

    def update_scene_graph(self, graph) -> list[str]:
        """Mark objects matched by confirmed tracks as observed; returns the new ids."""
        return mark_observed(graph, self.map)

    def look_around(self, world, graph, pose: tuple[float, float, float] | None = None, *,
                    headings: int = 8, camera=None) -> list[str]:
        """Render the simulated camera at ``headings`` evenly spaced headings (twice each, so a
        track gets its confirming second sighting), then update ``graph``.

        Args:
            world: the simulated world (rendered, never read for object identities here).
            graph: the planner's scene graph.
            pose: camera pose (default: the robot's).
            headings: number of headings in a full turn.
            camera: a :class:`~embodied_collab.sim.camera.Camera` (default 160x120).

        Returns:
            ids of objects observed for the first time.
        """
        from embodied_collab.sim.camera import Camera

        camera = camera or Camera(z=self.config.camera_z)
        x, y, th = pose if pose is not None else world.robot.pose
        for k in range(headings):
            for jitter in (0.0, 0.15):
                p = (x, y, th + 2 * math.pi * k / headings + jitter)
                frame = camera.render(world, p)
                self.observe(frame.rgb, frame.depth, camera.intrinsics, p)
        return self.update_scene_graph(graph)
