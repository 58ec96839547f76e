"""Hand-made worlds with known geometry for the continuous simulator's tests."""

from __future__ import annotations

from embodied_collab.sim.world import Appearance, Furniture, Robot, Room, World, WorldObject


def room_world(*, furniture=(), objects=(), robot=(1.0, 2.0, 0.0), seed: int = 0) -> World:
    """One 4 m x 4 m room (walls on x=0, x=4, y=0, y=4) with the given furniture and objects."""
    walls = [(0.0, 0.0, 4.0, 0.0), (4.0, 0.0, 4.0, 4.0), (4.0, 4.0, 0.0, 4.0), (0.0, 4.0, 0.0, 0.0)]
    return World(
        rooms=[Room(id="kitchen", type="kitchen", bounds=(0.0, 0.0, 4.0, 4.0))],
        doors=[],
        walls=walls,
        furniture=list(furniture),
        objects=list(objects),
        robot=Robot(x=robot[0], y=robot[1], theta=robot[2]),
        appearance=Appearance(),
        seed=seed,
        name="test_room",
    )


def table(bounds=(2.5, 1.5, 3.3, 2.5), fid: str = "table_1") -> Furniture:
    return Furniture(id=fid, category="table", room="kitchen", bounds=bounds, height=0.75,
                     colour="oak", container=False, surface=True,
                     approach=(bounds[0] - 0.33, 0.5 * (bounds[1] + bounds[3]), 0.0))


def cabinet(bounds=(2.5, 1.5, 3.0, 2.5), fid: str = "cabinet_1", open_: bool = False) -> Furniture:
    return Furniture(id=fid, category="cabinet", room="kitchen", bounds=bounds, height=0.9,
                     colour="grey", container=True, surface=True, open=open_,
                     approach=(bounds[0] - 0.33, 0.5 * (bounds[1] + bounds[3]), 0.0))


def obj(oid: str, category: str, colour: str, position, *, relation="on", support=None,
        z: float = 0.0, size: str = "large") -> WorldObject:
    return WorldObject(id=oid, category=category, colour=colour, size=size, relation=relation,
                       support=support, position=tuple(position), z=z)
