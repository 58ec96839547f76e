"""Objects enter the planner's scene graph through the camera and the real detector."""

from __future__ import annotations

import math

from embodied_collab.sim.generate import generate_world
from embodied_collab.sim.scene_graph import SceneGraph
from embodied_collab.vision.perception import Perception


def test_look_around_puts_seen_objects_into_the_scene_graph():
    found = 0
    perception = Perception()
    for seed in (1_000_010, 1_000_011, 1_000_012):
        world = generate_world(seed)
        graph = SceneGraph(world)
        f = next(f for f in world.furniture
                 if f.approach and any(o.relation == "on" for o in world.objects_at(f.id)))
        new = perception.look_around(world, graph, f.approach, headings=6)
        for oid in new:
            o = world.object_by_id(oid)
            assert oid in graph.observed
            assert math.dist(o.position, f.approach[:2]) < 6.0
        found += len(new)
        perception.map.tracks.clear()
    assert found >= 1
