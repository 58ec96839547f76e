"""The planner SLM: a small transformer distilled from a teacher and fine-tuned with PPO.

``load_default()`` returns the committed :class:`~embodied_collab.planner.policy.SLMPolicy`.
"""

from __future__ import annotations


def load_default(*, action_masking: bool | None = None):
    """The committed planner SLM policy (:func:`embodied_collab.planner.policy.load_default`)."""
    from embodied_collab.planner.policy import load_default as _load

    return _load(action_masking=action_masking)


__all__ = ["load_default"]
