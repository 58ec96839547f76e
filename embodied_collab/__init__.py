"""embodied_collab: on-board small models and a cloud LLM working together on a mobile robot."""

__version__ = "0.1.0"
