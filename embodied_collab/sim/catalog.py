"""The household world's vocabulary: room types, furniture, object categories, colours, skills.

Everything that names things in the world (generator, renderer, speech grounding, LLM prompts,
planner tokenizer, detector classes) reads these tables, so the vocabulary is defined once.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Room types, with the furniture each may hold (first ones are the most typical).
ROOM_TYPES: dict[str, tuple[str, ...]] = {
    "kitchen": ("counter", "fridge", "table", "cabinet"),
    "living_room": ("sofa", "table", "shelf", "cabinet"),
    "bedroom": ("bed", "dresser", "desk", "shelf"),
    "bathroom": ("sink", "cabinet"),
    "office": ("desk", "shelf", "cabinet"),
    "dining_room": ("table", "cabinet", "shelf"),
    "hallway": ("shelf", "dresser"),
    "laundry": ("cabinet", "counter"),
}


@dataclass(frozen=True)
class FurnitureSpec:
    """Footprint (width along the wall, depth into the room), height, and affordances."""

    width: float
    depth: float
    height: float
    container: bool  # has a door: objects go "in", hidden while closed
    surface: bool  # objects can stand "on" its top


FURNITURE: dict[str, FurnitureSpec] = {
    "table": FurnitureSpec(1.2, 0.8, 0.75, container=False, surface=True),
    "counter": FurnitureSpec(1.6, 0.6, 0.9, container=False, surface=True),
    "desk": FurnitureSpec(1.2, 0.6, 0.75, container=False, surface=True),
    "shelf": FurnitureSpec(1.0, 0.4, 1.1, container=False, surface=True),
    "sofa": FurnitureSpec(1.8, 0.85, 0.45, container=False, surface=True),
    "bed": FurnitureSpec(1.5, 2.0, 0.5, container=False, surface=True),
    "sink": FurnitureSpec(0.8, 0.55, 0.85, container=False, surface=True),
    "fridge": FurnitureSpec(0.75, 0.7, 1.8, container=True, surface=False),
    "cabinet": FurnitureSpec(1.0, 0.5, 0.9, container=True, surface=True),
    "dresser": FurnitureSpec(1.0, 0.5, 0.8, container=True, surface=True),
}


@dataclass(frozen=True)
class ObjectSpec:
    """Shape for rendering/collision: footprint radius (m), height (m), and silhouette kind."""

    radius: float
    height: float
    shape: str  # "cylinder" | "bottle" | "box" | "sphere" | "slab"


#: Movable objects. Sizes are stylised (a little larger than life) so that a 160x120 camera sees
#: them from across a room.
OBJECTS: dict[str, ObjectSpec] = {
    "cup": ObjectSpec(0.06, 0.13, "cylinder"),
    "bottle": ObjectSpec(0.05, 0.30, "bottle"),
    "box": ObjectSpec(0.11, 0.18, "box"),
    "ball": ObjectSpec(0.10, 0.20, "sphere"),
    "book": ObjectSpec(0.12, 0.05, "slab"),
    "apple": ObjectSpec(0.055, 0.11, "sphere"),
}

#: Colour names and their base RGB (0-255).
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 30, 30),
    "green": (40, 160, 50),
    "blue": (35, 70, 200),
    "yellow": (230, 200, 40),
    "orange": (235, 120, 20),
    "purple": (130, 50, 160),
    "white": (235, 235, 235),
    "black": (30, 30, 30),
}

#: Size names and the scale they apply to an object's spec.
SIZES: dict[str, float] = {"small": 0.8, "large": 1.3}

#: Colours furniture is painted in (not part of object colours, so they never get confused).
FURNITURE_COLOURS: dict[str, tuple[int, int, int]] = {
    "oak": (150, 110, 70),
    "walnut": (100, 70, 45),
    "grey": (128, 128, 132),
    "cream": (215, 205, 180),
    "teal": (60, 120, 125),
}

#: High-level actions of the planning environment (the planner SLM's action verbs).
PLAN_VERBS: tuple[str, ...] = ("navigate", "open", "pick", "place", "done")

#: The robot's skill vocabulary for cloud task decomposition (an allow-list: nothing else runs).
SKILLS: dict[str, str] = {
    "navigate": "drive to a room or a piece of furniture: {'target': <room or furniture id>}",
    "search": "look for an object whose location is unknown: {'object': <description>}",
    "open": "open a container (fridge, cabinet, dresser): {'target': <furniture id>}",
    "pick": "pick up an object within reach: {'object': <object id or description>}",
    "place": "put the held object on/in furniture within reach: {'target': <furniture id>}",
    "say": "speak a short sentence to the user: {'text': <sentence>}",
    "wait": "wait some seconds: {'seconds': <number>}",
}

#: Task difficulties, in increasing order.
DIFFICULTIES: tuple[str, ...] = ("fetch", "multi_step", "search", "attributes")


def display_name(identifier: str) -> str:
    """``living_room`` -> ``living room`` (how ids are spoken and written in instructions)."""
    return identifier.replace("_", " ")
