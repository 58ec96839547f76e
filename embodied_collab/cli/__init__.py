"""Command-line interface: ``embodied-collab <command> ...``."""
