"""Spoken replies: confirm the task, report done or failed (hibari-tts, or espeak-ng)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from embodied_collab.errors import InvalidInputError
from embodied_collab.sim import catalog
from embodied_collab.speech.config_speech import SpeechConfig

logger = logging.getLogger(__name__)

_MAX_CHARS = 1000


class Speaker:
    """Text to speech on board.

    Args:
        config: ``tts_backend`` (``hibari`` or ``espeak``), ``tts_voice``, ``tts_speed``.
    """

    def __init__(self, config: SpeechConfig | None = None) -> None:
        self.config = config or SpeechConfig()
        self._tts: Any = None
        if self.config.tts_backend == "hibari":
            from embodied_collab.errors import require

            hibari = require("hibari", "speech")
            if self.config.tts_voice not in ("heart",):
                logger.warning("hibari voice %r may need a download; only 'heart' is bundled",
                               self.config.tts_voice)
            self._tts = hibari.Hibari(voice=self.config.tts_voice)
            self.sample_rate = int(self._tts.sample_rate)
        else:
            self.sample_rate = 16000

    def say(self, text: str, *, play: bool = False) -> np.ndarray:
        """Synthesize ``text``; returns float32 mono audio at :attr:`sample_rate`.

        Args:
            text: what to say (at most 1000 characters).
            play: also play it on the default output device (needs ``sounddevice``).

        Raises:
            InvalidInputError: empty or over-long text.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("nothing to say: text is empty")
        if len(text) > _MAX_CHARS:
            raise InvalidInputError(f"text too long to say ({len(text)} > {_MAX_CHARS} chars)")
        if self._tts is not None:
            audio = np.asarray(self._tts(text, speed=self.config.tts_speed, seed=0), np.float32)
        else:
            from embodied_collab.speech.synth import espeak

            audio = espeak(text, self.config.tts_voice, int(160 * self.config.tts_speed))
        if play:
            play_audio(audio, self.sample_rate)
        return audio


def play_audio(audio: np.ndarray, sample_rate: int) -> bool:
    """Play on the default output device; False (and a log line) when there is none."""
    try:
        import sounddevice as sd  # optional: only on machines with audio hardware
    except (ImportError, OSError):
        logger.warning("sounddevice not available: not playing audio")
        return False
    sd.play(audio, sample_rate, blocking=True)
    return True


def reply_for(intent: Any, status: str = "accepted", reason: str | None = None) -> str:
    """The sentence to speak about an intent.

    Args:
        intent: a grounding :class:`~embodied_collab.speech.grounding.Intent`.
        status: ``accepted`` (confirm), ``done``, or ``failed``.
        reason: why it failed (spoken after the failure).
    """
    if intent.ask_back:
        return intent.ask_back
    if intent.kind == "stop":
        return "Stopping."
    if intent.kind == "cancel":
        return "Okay, cancelled."
    if intent.kind != "task":
        return "Sorry, I did not understand."
    s = intent.slots
    what = " ".join(catalog.display_name(x) for x in (
        s.get("object_size"), s.get("object_colour"), _plain(s.get("object"))) if x)
    where = _plain(s.get("target"))
    if intent.verb == "go":
        action = f"go to the {where}" if where else "go there"
    elif intent.verb == "find":
        action = f"find the {what}" if what else "search"
    else:
        action = f"bring the {what}" + (f" to the {where}" if where else "") if what else \
            "do that"
    if status == "done":
        return f"Done: {action}."
    if status == "failed":
        return f"Sorry, I could not {action}" + (f": {reason}." if reason else ".")
    return f"Okay, I will {action}."


def _plain(entity: str | None) -> str | None:
    """``table_1`` -> table, ``living_room`` -> living room."""
    if not entity:
        return None
    base = entity.rsplit("_", 1)[0] if entity.rsplit("_", 1)[-1].isdigit() else entity
    return catalog.display_name(base)
