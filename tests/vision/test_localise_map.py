"""Localisation on rendered frames, object-map fusion and the scene-graph update."""

from __future__ import annotations

import math

import numpy as np

from embodied_collab.sim.generate import generate_world
from embodied_collab.sim.scene_graph import SceneGraph
from embodied_collab.vision.config_vision import VisionConfig
from embodied_collab.vision.detector import Detection
from embodied_collab.vision.localise import box_depth, localise, pixel_to_world
from embodied_collab.vision.object_map import ObjectMap, associate, mark_observed


def test_ground_truth_boxes_localise_within_tolerance(heldout_samples):
    errs = []
    for s in heldout_samples:
        for b in s.boxes:
            if b["scored"]:
                p = localise(b["box"], b["category"], s.depth, s.intrinsics, s.pose)
                assert p is not None
                errs.append(math.dist(p, b["position"]))
    assert len(errs) >= 10
    assert float(np.median(errs)) <= 0.1, errs


def test_pixel_to_world_inverts_camera_projection():
    from embodied_collab.sim.camera import Camera

    cam = Camera()
    pose = (1.0, 2.0, 0.7)
    point = (3.0, 3.5, 0.6)
    u, v, z = cam.project(pose, point)
    got = pixel_to_world(u, v, z, cam.intrinsics, pose, cam.z)
    assert math.dist(got, point) < 1e-6


def test_box_depth_ignores_invalid_pixels():
    d = np.full((10, 10), np.nan, np.float32)
    assert box_depth(d, (0, 0, 10, 10)) is None
    d[4:6, 4:6] = 2.0
    assert box_depth(d, (0, 0, 10, 10)) == 2.0


def _det(label="cup", colour="red", score=0.8):
    return Detection(label, colour, score, (0, 0, 5, 5))


def test_object_map_fuses_repeated_sightings():
    m = ObjectMap(VisionConfig(match_radius=0.3, min_hits=2))
    m.update([(_det(), (1.0, 1.0, 0.8)), (_det("ball", "blue"), (3.0, 1.0, 0.8))])
    m.update([(_det(score=0.6), (1.1, 1.0, 0.8))])
    m.update([(_det(), (2.0, 2.0, 0.8))])  # too far: a new track
    assert len(m.tracks) == 3
    cup = m.tracks[0]
    assert cup.hits == 2 and math.isclose(cup.position[0], 1.05)
    assert math.isclose(cup.confidence, 1 - 0.2 * 0.4)
    assert [t.id for t in m.confirmed()] == [cup.id]


def test_object_map_keeps_categories_apart():
    m = ObjectMap(VisionConfig(match_radius=0.5))
    m.update([(_det("cup"), (1.0, 1.0, 0.8))])
    m.update([(_det("ball"), (1.0, 1.0, 0.8))])
    assert len(m.tracks) == 2


def test_scene_graph_gets_objects_through_the_map():
    world = generate_world(4)
    graph = SceneGraph(world)
    assert not graph.observed
    target = world.visible_objects()[0]
    centre = (target.position[0] + 0.05, target.position[1], target.z + 0.5 * target.height)
    m = ObjectMap(VisionConfig(min_hits=2, associate_radius=0.5))
    det = _det(target.category, target.colour)
    m.update([(det, centre)])
    assert mark_observed(graph, m) == []  # one sighting is not enough
    m.update([(det, centre)])
    assert mark_observed(graph, m) == [target.id]
    assert target.id in graph.observed
    assert target.id in graph.to_text()
    # a wrong colour associates with nothing
    m2 = ObjectMap(VisionConfig(min_hits=1))
    other = "red" if target.colour != "red" else "blue"
    m2.update([(_det(target.category, other), centre)])
    assert not any(o.id == target.id for o in world.objects
                   if o.id in associate(m2.confirmed(), world, 0.5).values())
