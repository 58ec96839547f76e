"""On-board vision: a small detector, 3-D localisation and an object map (see docs/vision.md)."""
