"""The mission executive: one state machine per command, decisions routed between the cloud LLM
and the on-board planner SLM through the link layer, actions carried out by the robot, every
command journaled durably and traced by its id.

Import from the modules: :mod:`.mission` (pure state machine), :mod:`.robot` (robot interface
and the simulated robot), :mod:`.decisions` (cloud and local deciders), :mod:`.executive`.
"""
