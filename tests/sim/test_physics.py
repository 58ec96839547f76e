"""Physics, lidar, gripper and RobotSim of the continuous simulator, in hand-made worlds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embodied_collab.sim import physics
from embodied_collab.sim.config_sim import SimConfig
from embodied_collab.sim.lidar import Lidar
from embodied_collab.sim.physics import WALL_HALF, Obstacles, integrate
from embodied_collab.sim.robot_sim import RobotSim
from embodied_collab.sim.world import REACH, ROBOT_RADIUS

from .continuous_worlds import cabinet, obj, room_world, table

# ------------------------------------------------------------------------- collisions


@pytest.mark.parametrize("v,dt", [(0.6, 0.1), (5.0, 1.0), (40.0, 1.0)])
def test_driving_into_a_wall_stops_at_contact_without_tunnelling(v, dt):
    world = room_world(robot=(2.0, 2.0, 0.0))
    obs = Obstacles(world)
    pose = world.robot.pose
    hit = False
    for _ in range(200):
        pose, collided = integrate(obs, pose, v, 0.0, dt)
        hit |= collided
        if collided:
            break
    assert hit
    # stopped just short of the east wall at x = 4, never through it
    expected = 4.0 - WALL_HALF - ROBOT_RADIUS
    assert pose[0] == pytest.approx(expected, abs=2e-3)
    assert pose[0] <= expected + 1e-9
    assert not obs.collides(pose[0], pose[1])


def test_furniture_and_floor_objects_block_the_robot():
    world = room_world(furniture=[table()], robot=(1.0, 2.0, 0.0))
    obs = Obstacles(world)
    pose, collided = integrate(obs, world.robot.pose, 0.6, 0.0, 5.0)
    assert collided
    assert pose[0] == pytest.approx(2.5 - ROBOT_RADIUS, abs=2e-3)
    # a ball on the floor in the way
    world2 = room_world(objects=[obj("ball_1", "ball", "red", (2.0, 2.0), relation="floor")],
                        robot=(1.0, 2.0, 0.0))
    obs2 = Obstacles(world2)
    pose2, collided2 = integrate(obs2, world2.robot.pose, 0.6, 0.0, 5.0)
    r = world2.objects[0].radius
    assert collided2
    assert pose2[0] == pytest.approx(2.0 - r - ROBOT_RADIUS, abs=2e-3)


def test_turning_in_place_and_driving_away_from_a_wall_are_allowed():
    world = room_world(robot=(2.0, 2.0, 0.0))
    obs = Obstacles(world)
    pose, _ = integrate(obs, world.robot.pose, 1.0, 0.0, 5.0)  # now touching the east wall
    pose2, collided = integrate(obs, pose, 0.0, 1.0, math.pi)  # half turn in place
    assert not collided
    assert abs(abs(pose2[2]) - math.pi) < 1e-6
    pose3, collided = integrate(obs, pose2, 0.5, 0.0, 1.0)
    assert not collided
    assert pose3[0] == pytest.approx(pose[0] - 0.5, abs=1e-6)


def test_arc_integration_is_exact_in_free_space():
    world = room_world(robot=(2.0, 2.0, 0.0))
    obs = Obstacles(world)
    # a quarter circle of radius v/w = 0.5 m
    pose, collided = integrate(obs, (2.0, 1.5, 0.0), 0.5, 1.0, math.pi / 2)
    assert not collided
    assert pose[0] == pytest.approx(2.5, abs=1e-9)
    assert pose[1] == pytest.approx(2.0, abs=1e-9)
    assert pose[2] == pytest.approx(math.pi / 2, abs=1e-9)


# ------------------------------------------------------------------------------ lidar


def test_lidar_ranges_match_analytic_distances():
    world = room_world(furniture=[table((2.5, 1.5, 3.3, 2.5))],
                       objects=[obj("ball_1", "ball", "red", (1.0, 0.8), relation="floor")],
                       robot=(1.0, 2.0, 0.0))
    lidar = Lidar(Obstacles(world), beams=64, range_max=6.0)
    ranges = lidar.scan(world.robot.pose)
    assert ranges.dtype == np.float32 and ranges.shape == (64,)
    assert lidar.angle_min == pytest.approx(-math.pi)
    i = {a: int(round((a - lidar.angle_min) / lidar.angle_increment)) for a in
         (0.0, math.pi / 2, -math.pi / 2, -math.pi)}
    assert ranges[i[0.0]] == pytest.approx(1.5, abs=1e-5)  # table front face at x = 2.5
    # walls are seen at their surface, half a wall thickness before the centre line
    assert ranges[i[math.pi / 2]] == pytest.approx(2.0 - WALL_HALF, abs=1e-5)  # north wall y = 4
    assert ranges[i[-math.pi]] == pytest.approx(1.0 - WALL_HALF, abs=1e-5)  # west wall x = 0
    r = world.objects[0].radius
    assert ranges[i[-math.pi / 2]] == pytest.approx(1.2 - r, abs=1e-5)  # ball south of robot
    # a diagonal beam to the north-west corner region: 45 degrees -> west wall at 1/cos
    rotated = lidar.scan((1.0, 2.0, math.pi / 4))
    assert rotated[i[math.pi / 2]] == pytest.approx(
        (1.0 - WALL_HALF) / math.cos(math.pi / 4), abs=1e-5
    )


def test_lidar_range_limits_fov_and_noise():
    world = room_world(robot=(1.0, 2.0, 0.0))
    lidar = Lidar(Obstacles(world), beams=5, fov=math.pi, range_max=2.5, range_min=0.1)
    assert lidar.angle_min == pytest.approx(-math.pi / 2)
    assert lidar.angle_max == pytest.approx(math.pi / 2)
    r = lidar.scan(world.robot.pose)
    assert r[2] == pytest.approx(2.5)  # east wall at 3 m is beyond range_max
    assert r[0] == pytest.approx(2.0 - WALL_HALF)  # south wall surface
    noisy = Lidar(Obstacles(world), beams=5, fov=math.pi, noise=0.05)
    a = noisy.scan(world.robot.pose, np.random.default_rng(1))
    b = noisy.scan(world.robot.pose, np.random.default_rng(1))
    assert np.array_equal(a, b)
    assert not np.allclose(a, lidar.scan(world.robot.pose))


# ---------------------------------------------------------------------------- gripper


def test_pick_place_open_within_reach_and_messages_out_of_reach():
    cup = obj("cup_1", "cup", "red", (2.9, 2.0), support="table_1", z=0.75)
    ball = obj("ball_1", "ball", "blue", (3.3, 1.0), relation="in", support="cabinet_1", z=0.315)
    t = table((2.5, 1.5, 3.3, 2.5))
    c = cabinet((3.0, 0.3, 3.6, 1.3), fid="cabinet_1")
    world = room_world(furniture=[t, c], objects=[cup, ball], robot=(0.6, 2.0, 0.0))
    ok, msg = physics.pick(world, "cup_1")
    assert not ok and "out of reach" in msg and "table_1" in msg
    ok, msg = physics.pick(world, "nothing_9")
    assert not ok and "no object 'nothing_9'" in msg
    world.robot.x = 2.5 - REACH + 0.05
    ok, msg = physics.pick(world, "cup_1")
    assert ok, msg
    assert world.robot.holding == "cup_1" and cup.relation == "held" and cup.support is None
    ok, msg = physics.pick(world, "ball_1")
    assert not ok and "already holds cup_1" in msg
    # place into a closed cabinet fails; open it (out of reach first), then place in
    world.robot.x, world.robot.y = 2.4, 0.8
    ok, msg = physics.set_open(world, "cabinet_1")
    assert ok and c.open, msg
    world.robot.x, world.robot.y = 0.5, 0.5
    ok, msg = physics.place(world, "cabinet_1")
    assert not ok and "out of reach" in msg
    world.robot.x, world.robot.y = 2.4, 0.8
    ok, msg = physics.place(world, "cabinet_1")
    assert ok and msg == "placed cup_1 in cabinet_1"
    assert cup.relation == "in" and cup.support == "cabinet_1" and cup.z == c.inner_height
    x0, y0, x1, y1 = c.bounds
    assert x0 < cup.position[0] < x1 and y0 < cup.position[1] < y1
    assert math.hypot(cup.position[0] - 3.3, cup.position[1] - 1.0) >= cup.radius + ball.radius
    ok, msg = physics.place(world, "cabinet_1")
    assert not ok and "gripper is empty" in msg


def test_closed_container_contents_cannot_be_picked_and_open_errors():
    ball = obj("ball_1", "ball", "blue", (2.75, 2.0), relation="in", support="cabinet_1", z=0.3)
    world = room_world(furniture=[cabinet(), table((0.5, 3.0, 1.7, 3.8))], objects=[ball],
                       robot=(2.0, 2.0, 0.0))
    ok, msg = physics.pick(world, "ball_1")
    assert not ok and "closed" in msg and "open it" in msg
    ok, msg = physics.set_open(world, "table_1")
    assert not ok and "has no door" in msg
    world.robot.x = 0.5
    ok, msg = physics.set_open(world, "cabinet_1")
    assert not ok and "out of reach" in msg
    world.robot.x = 2.0
    assert physics.set_open(world, "cabinet_1") == (True, "opened cabinet_1")
    assert physics.set_open(world, "cabinet_1") == (True, "cabinet_1 is already open")
    ok, msg = physics.pick(world, "ball_1")
    assert ok, msg
    assert physics.set_open(world, "cabinet_1", False) == (True, "closed cabinet_1")


def test_place_on_a_surface_needs_free_space():
    t = table((2.5, 1.8, 2.9, 2.2))  # tiny table: room for a single large box
    boxes = [obj(f"box_{i}", "box", "red", (0.5 + i, 0.5), relation="floor") for i in (1, 2)]
    world = room_world(furniture=[t], objects=boxes, robot=(2.0, 2.0, 0.0))
    for b in boxes:
        world.robot.x, world.robot.y = b.position[0], b.position[1] + 0.4
        assert physics.pick(world, b.id)[0]
        world.robot.x, world.robot.y = 2.0, 2.0
        ok, msg = physics.place(world, "table_1")
        if b.id == "box_1":
            assert ok, msg
        else:
            assert not ok and "no free space on table_1" in msg


# --------------------------------------------------------------------------- RobotSim


def test_robot_sim_clamps_commands_limits_acceleration_and_times_out():
    world = room_world(robot=(1.0, 2.0, 0.0))
    cfg = SimConfig(v_max=0.5, accel_v=1.0, cmd_timeout=0.5)
    sim = RobotSim(world, cfg)
    sim.set_cmd_vel(10.0, 0.0)
    sim.step(0.1)
    assert sim.velocity[0] == pytest.approx(0.1)  # 1 m/s^2 for 0.1 s
    for _ in range(5):
        sim.step(0.1)
    assert sim.velocity[0] == pytest.approx(0.5)  # clamped to v_max
    assert sim.time == pytest.approx(0.6)
    for _ in range(10):  # no new command: the dead-man switch brings it to rest
        sim.step(0.1)
    assert sim.velocity[0] == pytest.approx(0.0)
    x_rest = sim.pose[0]
    sim.step(0.1)
    assert sim.pose[0] == x_rest
    with pytest.raises(ValueError, match="finite"):
        sim.set_cmd_vel(float("nan"), 0.0)


def test_robot_sim_sensors_and_collision_flag():
    world = room_world(robot=(3.5, 2.0, 0.0))
    sim = RobotSim(world, SimConfig(lidar_beams=32, camera_width=64, camera_height=48))
    scan = sim.scan()
    assert scan.shape == (32,) and sim.range_max == 6.0
    assert sim.angle_min == pytest.approx(-math.pi)
    rgb, depth = sim.camera()
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
    assert depth.shape == (48, 64) and depth.dtype == np.float32
    assert sim.intrinsics[4:] == (64, 48)
    sim.set_cmd_vel(0.6, 0.0)
    hit = False
    for _ in range(20):
        sim.step()
        hit |= sim.collided
    assert hit and sim.velocity[0] == 0.0
    assert sim.pose[0] < 4.0 - ROBOT_RADIUS


# ------------------------------------------------------------------------------ config


@pytest.mark.parametrize("field,value", [
    ("dt", 0.0), ("max_substep", -1.0), ("v_max", 0.0), ("w_max", -1.0), ("accel_v", 0.0),
    ("accel_w", 0.0), ("lidar_range", 0.0), ("lidar_range_min", 0.0), ("camera_far", 0.0),
    ("cmd_timeout", -1.0), ("lidar_noise", -0.1), ("camera_noise", -1.0),
    ("depth_noise", -0.1), ("lidar_beams", 0), ("lidar_fov", 7.0), ("camera_width", 4),
    ("camera_height", 5000), ("camera_hfov", 179.0), ("camera_z", 2.5),
])
def test_sim_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        SimConfig(**{field: value})


def test_sim_config_range_min_below_range():
    with pytest.raises(ValueError, match="lidar_range_min"):
        SimConfig(lidar_range_min=7.0, lidar_range=6.0)
