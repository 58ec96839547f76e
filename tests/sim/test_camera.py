"""The RGB-D camera renderer and the picture/episode writers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embodied_collab.sim.camera import Camera
from embodied_collab.sim.generate import generate_world
from embodied_collab.sim.render import draw_boxes, render_topdown, save_episode, save_png
from embodied_collab.sim.world import WALL_HEIGHT, Appearance

from .continuous_worlds import cabinet, obj, room_world, table


def test_intrinsics_follow_the_pinhole_model():
    cam = Camera(width=160, height=120, hfov=90.0, z=1.0)
    fx, fy, cx, cy, w, h = cam.intrinsics
    assert fx == pytest.approx(80.0) and fy == fx
    assert (cx, cy, w, h) == (79.5, 59.5, 160, 120)
    u, v, z = cam.project((0.0, 0.0, 0.0), (2.0, 1.0, 1.5))
    assert z == pytest.approx(2.0)
    assert u == pytest.approx(cx - fx * 1.0 / 2.0) and v == pytest.approx(cy - fy * 0.5 / 2.0)


@pytest.mark.parametrize("size", [(160, 120), (320, 240)])
def test_depth_of_a_wall_straight_ahead_equals_the_analytic_distance(size):
    world = room_world(robot=(1.0, 2.0, 0.0))
    cam = Camera(width=size[0], height=size[1])
    frame = cam.render(world)
    assert frame.rgb.shape == (size[1], size[0], 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.dtype == np.float32 and frame.instance.dtype == np.int16
    # depth is along the optical axis: the facing wall reads 3.0 m in every column that sees it
    # (|lateral offset| < 2 m at 3 m: the side walls are 2 m away)
    fx, fy, cx, cy, _, h = cam.intrinsics
    mid = size[1] // 2
    cols = np.flatnonzero(np.abs(np.arange(size[0]) - cx) < fx * 2.0 / 3.0 - 1)
    np.testing.assert_allclose(frame.depth[mid - 2: mid + 2, cols], 3.0, atol=1e-4)
    # a column at the image edge sees the side wall at forward depth 2 m
    assert frame.depth[mid, 0] == pytest.approx(2.0 / (cx / fx) * (cx / fx), abs=2e-2)
    v_floor = int(math.ceil(cy + fy * cam.z / 3.0)) + 1
    assert v_floor < h
    assert frame.depth[v_floor, int(cx)] == pytest.approx(cam.z * fy / (v_floor - cy), rel=1e-5)
    v_ceil = int(math.floor(cy - fy * (WALL_HEIGHT - cam.z) / 3.0)) - 1
    assert v_ceil >= 0
    assert frame.depth[v_ceil, size[0] // 2] < 3.0


def test_a_known_object_appears_in_the_boxes_with_its_category():
    cup = obj("cup_1", "cup", "red", (2.7, 2.0), support="table_1", z=0.75)
    bottle = obj("bottle_1", "bottle", "blue", (2.7, 1.7), support="table_1", z=0.75)
    world = room_world(furniture=[table()], objects=[cup, bottle], robot=(1.0, 2.0, 0.0))
    cam = Camera()
    frame = cam.render(world)
    by_id = {b["object_id"]: b for b in frame.boxes}
    assert set(by_id) == {"cup_1", "bottle_1"}
    b = by_id["cup_1"]
    assert b["category"] == "cup" and b["colour"] == "red"
    assert b["visible_fraction"] == pytest.approx(1.0)
    u, v, _ = cam.project(world.robot.pose, (2.7, 2.0, 0.75 + 0.5 * cup.height))
    x0, y0, x1, y1 = b["box"]
    assert x0 <= u <= x1 and y0 <= v <= y1
    # the object's pixels are reddish; the bottle's bluish
    m = frame.instance == 0
    mean = frame.rgb[m].mean(axis=0)
    assert mean[0] > 1.5 * mean[2]
    m = frame.instance == 1
    mean = frame.rgb[m].mean(axis=0)
    assert mean[2] > 1.5 * mean[0]
    # bottles are narrower at the neck than at the body
    cols = np.flatnonzero(m.any(axis=0))
    rows = np.flatnonzero(m.any(axis=1))
    top_w = m[rows[0] + 1].sum()
    body_w = m[rows[-1] - 2].sum()
    assert top_w < body_w and len(cols) > 0


def test_closed_containers_hide_their_contents_and_open_ones_show_them():
    ball = obj("ball_1", "ball", "yellow", (2.75, 2.0), relation="in", support="cabinet_1",
               z=0.315)
    c = cabinet()
    world = room_world(furniture=[c], objects=[ball], robot=(1.2, 2.0, 0.0))
    cam = Camera()
    closed = cam.render(world)
    assert closed.boxes == []
    assert (closed.instance == -1).all()
    c.open = True
    opened = cam.render(world)
    assert [b["object_id"] for b in opened.boxes] == ["ball_1"]
    # the shelf inside is lower than the closed top: more floor/wall is visible above it
    assert (opened.depth != closed.depth).any()


def test_occlusion_is_reported_in_visible_fraction():
    near = obj("box_1", "box", "green", (2.0, 2.0), relation="floor")
    far = obj("box_2", "box", "red", (3.0, 2.15), relation="floor")
    world = room_world(objects=[near, far], robot=(1.0, 2.0, 0.0))
    frame = Camera(z=0.15).render(world)  # a low camera: the near box hides most of the far one
    fr = {b["object_id"]: b["visible_fraction"] for b in frame.boxes}
    assert fr["box_1"] == pytest.approx(1.0)
    assert 0.0 < fr["box_2"] < 0.6
    # seen from above (camera at 1 m) both are whole
    high = {b["object_id"]: b["visible_fraction"] for b in Camera().render(world).boxes}
    assert high == {"box_1": 1.0, "box_2": 1.0}
    # the near object's depth is its front face
    m = frame.instance == 0
    assert frame.depth[m].min() == pytest.approx(1.0 - 0.85 * near.radius, abs=1e-3)


def test_tops_of_low_furniture_are_visible_and_held_objects_are_not_drawn():
    world = room_world(furniture=[table()], robot=(1.0, 2.0, 0.0))
    frame = Camera(z=1.0).render(world)
    # rows just below the horizon see the table top (0.75 m) between its front and back edges
    fx, fy, cx, cy, _, _ = Camera().intrinsics
    v = int(cy + fy * (1.0 - 0.75) / 2.0)  # the top at 2 m depth
    d = frame.depth[v, 80]
    assert 1.5 <= d <= 2.3
    cup = obj("cup_1", "cup", "red", (1.0, 2.0), relation="held")
    world2 = room_world(objects=[cup], robot=(1.0, 2.0, 0.0))
    world2.robot.holding = "cup_1"
    assert Camera().render(world2).boxes == []


def test_rendering_is_deterministic_and_appearance_varies_the_image():
    world = generate_world(11)
    cam = Camera()
    a = cam.render(world)
    b = cam.render(world)
    assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.depth, b.depth)
    other = world.copy()
    other.appearance = Appearance(light=0.6, ambient=0.3, tint=(1.1, 0.9, 0.9), wall_texture=1,
                                  floor_texture=2, wall_colour=(150, 180, 200),
                                  floor_colour=(100, 80, 60))
    c = cam.render(other)
    assert np.array_equal(a.depth, c.depth)
    assert np.abs(a.rgb.astype(int) - c.rgb.astype(int)).mean() > 10
    # textures: a wall is not one flat colour
    assert len(np.unique(a.rgb.reshape(-1, 3), axis=0)) > 50
    noisy = Camera(noise=5.0).render(world, rng=np.random.default_rng(0))
    assert not np.array_equal(noisy.rgb, a.rgb)


def test_generated_worlds_render_objects_from_their_approach_poses():
    world = generate_world(5)
    cam = Camera()
    seen = set()
    for f in world.furniture:
        if f.approach is None:
            continue
        x, y, th = f.approach
        pose = (x - 0.8 * math.cos(th), y - 0.8 * math.sin(th), th)
        for b in cam.render(world, pose).boxes:
            seen.add(b["object_id"])
            assert b["category"] == world.object_by_id(b["object_id"]).category
    visible = {o.id for o in world.visible_objects()}
    assert seen and seen <= visible


def test_pictures_and_episodes_are_written(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    world = generate_world(2)
    top = render_topdown(world, path=[(world.robot.x, world.robot.y), (1.0, 1.0)],
                         goal=(1.0, 1.0), title="house")
    assert top.ndim == 3 and top.dtype == np.uint8
    p = save_png(top, tmp_path / "map.png")
    assert iio.imread(p).shape == top.shape
    frame = Camera().render(world)
    save_png(draw_boxes(frame.rgb, frame.boxes), tmp_path / "cam.png", upscale=2)
    assert iio.imread(tmp_path / "cam.png").shape == (240, 320, 3)
    save_png(frame.depth, tmp_path / "depth.png")
    frames = [Camera().render(world, (world.robot.x, world.robot.y, th)).rgb
              for th in np.linspace(0, 1, 4)]
    gif = save_episode(frames, tmp_path / "ep.gif", fps=5)
    assert len(iio.imread(gif, index=None)) == 4
    pytest.importorskip("av")
    mp4 = save_episode(frames, tmp_path / "ep.mp4", fps=5)
    assert mp4.stat().st_size > 0
    with pytest.raises(ValueError, match=".gif or .mp4"):
        save_episode(frames, tmp_path / "ep.avi")
    with pytest.raises(ValueError, match="same shape"):
        save_episode([frames[0], top], tmp_path / "bad.gif")


@pytest.mark.parametrize("kwargs,match", [
    ({"width": 1}, "image size"), ({"hfov": 180.0}, "hfov"), ({"z": 3.0}, "camera height"),
])
def test_camera_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Camera(**kwargs)
