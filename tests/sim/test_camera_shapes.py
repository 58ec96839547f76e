"""Object shapes in the camera: what tells apple, ball, cup and box apart, and depth agreeing
with the drawn geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embodied_collab.sim.camera import Camera, _object_phase

from .continuous_worlds import obj, room_world, table


def _scene(category: str, colour: str = "red", robot_x: float = 2.0, oid: str | None = None):
    o = obj(oid or f"{category}_1", category, colour, (2.75, 2.0), support="table_1", z=0.75)
    world = room_world(furniture=[table()], objects=[o], robot=(robot_x, 2.0, 0.0))
    cam = Camera()
    return world, o, cam, cam.render(world)


def _back_project(cam: Camera, pose, frame, mask):
    """World (x, y, h) of the pixels in ``mask`` from their depth (pinhole, zero pitch)."""
    fx, fy, cx, cy, _, _ = cam.intrinsics
    v, u = np.nonzero(mask)
    z = frame.depth[v, u].astype(np.float64)
    left = -(u - cx) * z / fx
    h = cam.z - (v - cy) * z / fy
    x, y, th = pose
    return (x + z * math.cos(th) - left * math.sin(th),
            y + z * math.sin(th) + left * math.cos(th), h)


@pytest.mark.parametrize("category", ["apple", "ball", "cup", "box", "bottle", "book"])
def test_depth_of_every_object_pixel_lies_on_the_object(category):
    world, o, cam, frame = _scene(category, robot_x=2.1)
    m = frame.instance == 0
    assert m.sum() > 30
    px, py, h = _back_project(cam, world.robot.pose, frame, m)
    reach = 1.5 * o.radius + 0.01  # body, handle or leaf
    assert np.all(np.hypot(px - o.position[0], py - o.position[1]) <= reach)
    assert np.all((h >= o.z - 0.01) & (h <= o.z + o.height + 0.01))


def test_apple_is_flattened_with_a_stem_and_a_leaf():
    world, o, cam, frame = _scene("apple", "red", robot_x=2.1)
    m = frame.instance == 0
    px = frame.rgb[m].astype(int)
    red = (px[:, 0] > 1.8 * px[:, 1]) & (px[:, 0] > 1.8 * px[:, 2])
    green = (px[:, 1] > 1.3 * px[:, 0]) & (px[:, 1] > 1.3 * px[:, 2])
    assert green.sum() >= 1  # the leaf
    # the red body is flatter than a ball of the same width seen from the same place, and the
    # stem sticks out above it
    rows, cols = np.nonzero(m)
    br, bc = rows[red], cols[red]
    aspect = (br.max() - br.min() + 1) / (bc.max() - bc.min() + 1)
    ball = obj("ball_1", "ball", "red", o.position, support="table_1", z=o.z, size="small")
    ball_world = room_world(furniture=[table()], objects=[ball], robot=world.robot.pose)
    bm = cam.render(ball_world).instance == 0
    b_rows, b_cols = np.flatnonzero(bm.any(axis=1)), np.flatnonzero(bm.any(axis=0))
    ball_aspect = len(b_rows) / len(b_cols)
    assert aspect < 0.9 * ball_aspect, (aspect, ball_aspect)
    assert rows.min() < br.min()
    # a glossy skin: a highlight brighter than the body's median
    lum = px.sum(1)
    assert lum.max() > 1.3 * np.median(lum[red])


def test_ball_is_round_with_dark_seams():
    # centred at the camera's height, 2 m away: its outline is round
    o = obj("ball_1", "ball", "yellow", (3.0, 2.0), relation="floor", z=0.87)
    world = room_world(objects=[o], robot=(1.0, 2.0, 0.0))
    frame = Camera().render(world)
    m = frame.instance == 0
    x0, y0, x1, y1 = frame.boxes[0]["box"]
    assert abs((x1 - x0) - (y1 - y0)) <= 1
    lum = frame.rgb[m].astype(int).sum(1)
    dark = lum < 0.5 * np.median(lum)
    assert 0.05 < dark.mean() < 0.5  # seams are lines, not a dark ball


def test_cup_has_a_handle_and_a_dark_inside():
    # a cup whose handle points sideways (along +-y) is wider than its body when seen along x
    oid = next(f"cup_{i}" for i in range(100)
               if int(_object_phase(obj(f"cup_{i}", "cup", "blue", (0, 0))) // (math.pi / 2)) % 2)
    world, o, cam, frame = _scene("cup", "blue", robot_x=2.2, oid=oid)
    x0, _, x1, _ = frame.boxes[0]["box"]
    body = 2 * o.radius * cam.fx / (2.75 - 2.2)
    assert x1 - x0 >= body + 2
    # seen from above, the open top is darker than the sides
    high = room_world(furniture=[table()], objects=[o], robot=(1.5, 2.0, 0.0))
    top_cam = Camera(z=1.6)
    f = top_cam.render(high)
    m = f.instance == 0
    rows = np.flatnonzero(m.any(axis=1))
    top_rows = f.rgb[rows[0] + 1:rows[0] + 3][m[rows[0] + 1:rows[0] + 3]].astype(int).sum(1)
    side_rows = f.rgb[rows[-4]:rows[-1]][m[rows[-4]:rows[-1]]].astype(int).sum(1)
    assert np.median(top_rows) < 0.7 * np.median(side_rows)
