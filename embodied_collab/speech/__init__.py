"""On-board speech: voice activity, faster-whisper biased by the world, grounding, spoken replies.

Heavy models load lazily; import the classes from their modules or from here:
``SpeechPipeline``, ``UtteranceSegmenter``, ``Grounder``, ``Intent``, ``Speaker``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SpeechConfig", "SpeechPipeline", "SpeechResult", "UtteranceSegmenter", "Grounder",
           "Intent", "Vocabulary", "Speaker"]

_WHERE = {
    "SpeechConfig": "config_speech", "SpeechPipeline": "pipeline", "SpeechResult": "pipeline",
    "UtteranceSegmenter": "vad", "Grounder": "grounding", "Intent": "grounding",
    "Vocabulary": "vocabulary", "Speaker": "tts",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(name)
