"""The object map: repeated sightings fused into tracks, and the scene-graph update from them.

A sighting (a detection with a world position) joins the nearest track of the same category
within ``match_radius`` (position: running mean; category and colour: score-weighted votes;
confidence: noisy-OR of the sighting scores), else starts a new track. :func:`mark_observed`
puts confirmed tracks into the planner's :class:`~embodied_collab.sim.scene_graph.SceneGraph`:
each marks the nearest world object of its category and colour within ``associate_radius``
as observed, so objects enter the scene graph through the camera, not from ground truth.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from embodied_collab.vision.config_vision import VisionConfig
from embodied_collab.vision.detector import Detection

logger = logging.getLogger(__name__)


@dataclass
class Track:
    """One object in the map.

    Attributes:
        id: track id (``t1``, ``t2``, ...).
        position: fused world position (x, y, z).
        hits: sightings fused.
        confidence: noisy-OR of sighting scores, in [0, 1].
        labels, colours: score-weighted votes.
        object_id: the world object it was associated with, if any.
        last_seen: stamp of the latest sighting.
    """

    id: str
    position: tuple[float, float, float]
    hits: int = 0
    confidence: float = 0.0
    labels: dict[str, float] = field(default_factory=dict)
    colours: dict[str, float] = field(default_factory=dict)
    object_id: str | None = None
    last_seen: float = 0.0

    @property
    def label(self) -> str:
        return max(self.labels, key=self.labels.get)

    @property
    def colour(self) -> str:
        return max(self.colours, key=self.colours.get)

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "colour": self.colour,
                "position": [round(v, 3) for v in self.position], "hits": self.hits,
                "confidence": round(self.confidence, 4), "object_id": self.object_id}


class ObjectMap:
    """Fuses located detections into tracks.

    Args:
        config: vision settings (``match_radius``, ``min_hits``, ``associate_radius``).
    """

    def __init__(self, config: VisionConfig | None = None) -> None:
        self.config = config or VisionConfig()
        self.tracks: list[Track] = []
        self._next = 1

    def update(self, sightings: Iterable[tuple[Detection, Sequence[float]]],
               stamp: float = 0.0) -> list[Track]:
        """Fuse one frame's located detections; returns the tracks they updated or created."""
        touched = []
        for det, pos in sightings:
            pos = tuple(float(v) for v in pos)
            best, dist = None, self.config.match_radius
            for t in self.tracks:
                if t in touched or det.label not in t.labels:
                    continue
                d = math.dist(t.position, pos)
                if d <= dist:
                    best, dist = t, d
            if best is None:
                best = Track(id=f"t{self._next}", position=pos)
                self._next += 1
                self.tracks.append(best)
            else:
                n = best.hits
                best.position = tuple((p * n + q) / (n + 1)
                                      for p, q in zip(best.position, pos, strict=True))
            best.hits += 1
            best.confidence = 1.0 - (1.0 - best.confidence) * (1.0 - float(det.score))
            best.labels[det.label] = best.labels.get(det.label, 0.0) + det.score
            best.colours[det.colour] = best.colours.get(det.colour, 0.0) + det.score
            best.last_seen = stamp
            touched.append(best)
        return touched

    def confirmed(self) -> list[Track]:
        """Tracks seen at least ``min_hits`` times."""
        return [t for t in self.tracks if t.hits >= self.config.min_hits]


def associate(tracks: Iterable[Track], world, radius: float) -> dict[str, str]:
    """Assign tracks to world objects: nearest unassigned object of the same category (and the
    same colour) within ``radius``. Returns ``{track_id: object_id}``."""
    pairs = []
    objs = [o for o in world.objects if o.relation != "held"]
    for t in tracks:
        for o in objs:
            if o.category != t.label or o.colour != t.colour:
                continue
            centre = (o.position[0], o.position[1], o.z + 0.5 * o.height)
            d = math.dist(t.position, centre)
            if d <= radius:
                pairs.append((d, t, o.id))
    out: dict[str, str] = {}
    used: set[str] = set()
    for _dist, t, oid in sorted(pairs, key=lambda p: p[0]):
        if t.id in out or oid in used:
            continue
        out[t.id] = oid
        used.add(oid)
        t.object_id = oid
    return out


def mark_observed(graph, object_map: ObjectMap) -> list[str]:
    """Mark the world objects matched by the map's confirmed tracks as observed in ``graph``.

    Args:
        graph: a :class:`~embodied_collab.sim.scene_graph.SceneGraph`.
        object_map: the fused detections.

    Returns:
        ids of objects observed for the first time, in track order.
    """
    world = graph.world
    links = associate(object_map.confirmed(), world, object_map.config.associate_radius)
    new = []
    for oid in links.values():
        if oid in graph.observed:
            continue
        graph.observed.add(oid)
        new.append(oid)
        o = world.object_by_id(oid)
        room = graph.room_of(o.support) if o.support else None
        if room is None:
            r = world.room_at(*o.position)
            room = r.id if r else None
        if hasattr(graph, "invalidate"):
            graph.invalidate(room)
    if new:
        logger.info("camera observed %s", new)
    return new
