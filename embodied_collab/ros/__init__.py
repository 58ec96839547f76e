"""ROS 2 adapters: the only subpackage that imports ``rclpy``.

Nodes here are thin adapters over plain-Python core logic: declare parameters from a config
dataclass (:mod:`embodied_collab.ros.params`), build the core object, convert messages
(:mod:`embodied_collab.ros.convert`) and publish. The node graph is declared once in
:mod:`embodied_collab.ros.graph`; both the ``ros2 launch`` files and the in-process host
(:mod:`embodied_collab.ros.host`) read it. Importing this package does not import ``rclpy``.
"""
