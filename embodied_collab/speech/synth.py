"""Spoken test commands: instructions over the world's vocabulary (with synonyms), the intent
each one means, and synthetic voices (hibari-tts, espeak-ng) to speak them."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embodied_collab.sim import catalog
from embodied_collab.speech.audio import SAMPLE_RATE, resample, to_float_mono
from embodied_collab.speech.vocabulary import SYNONYMS

logger = logging.getLogger(__name__)

_STOPS = [("Stop.", "stop"), ("Stop now!", "stop"), ("Halt.", "stop"), ("Robot, stop.", "stop"),
          ("Cancel that.", "cancel"), ("Never mind.", "cancel"), ("Cancel.", "cancel"),
          ("Forget it.", "cancel")]


@dataclass
class Command:
    """A spoken command and the intent it means.

    Template commands carry catalog names in ``slots`` and no world; commands taken from the
    simulator's task generator carry their ``world`` and the goal's ids in ``slots``
    (``object`` and, when the goal has one, ``target``).
    """

    text: str
    kind: str
    verb: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    world: Any = None


def task_commands(n: int, seed: int = 0) -> list[Command]:
    """``n`` instructions from ``embodied_collab.sim.generate`` with their worlds and goals."""
    from embodied_collab.sim.generate import generate_task

    out: list[Command] = []
    difficulties = ("fetch", "multi_step", "search", "attributes")
    k = 0
    while len(out) < n and k < 10 * n + 10:
        task = generate_task(seed + k, difficulties[k % len(difficulties)])
        k += 1
        goal = task.goal
        if goal is None:
            continue
        slots = {"object": goal.object}
        if goal.target is not None:
            slots["target"] = goal.target
        out.append(Command(task.instruction, "task", None, slots, world=task.world()))
    return out


def _say(key: str, kind: str, rng: np.random.Generator, p_syn: float) -> str:
    syns = [s for s, (k, v) in SYNONYMS.items() if k == kind and v == key]
    if syns and rng.random() < p_syn:
        return str(rng.choice(syns))
    return catalog.display_name(key)


def _place(rng: np.random.Generator, p_syn: float, room: str | None = None,
           furniture: bool = True) -> tuple[str, dict[str, str]]:
    room = room or str(rng.choice(list(catalog.ROOM_TYPES)))
    room_s = _say(room, "room", rng, p_syn)
    if not furniture:
        return f"the {room_s}", {"": room, "_room": room}
    furn = str(rng.choice(catalog.ROOM_TYPES[room]))
    furn_s = _say(furn, "furniture", rng, p_syn)
    if rng.random() < 0.5 and " " not in room_s:
        return f"the {room_s} {furn_s}", {"": furn, "_room": room}
    return f"the {furn_s} in the {room_s}", {"": furn, "_room": room}


def _object(rng: np.random.Generator, p_syn: float) -> tuple[str, dict[str, str]]:
    cat = str(rng.choice(list(catalog.OBJECTS)))
    slots = {"object": cat}
    words = [_say(cat, "object", rng, p_syn)]
    if rng.random() < 0.85:
        colour = str(rng.choice(list(catalog.COLOURS)))
        words.insert(0, colour)
        slots["object_colour"] = colour
    if rng.random() < 0.3:
        size = str(rng.choice(list(catalog.SIZES)))
        words.insert(0, _say(size, "size", rng, p_syn * 0.5))
        slots["object_size"] = size
    return "the " + " ".join(words), slots


def generate_commands(n: int, seed: int = 0, *, p_synonym: float = 0.25,
                      p_stop: float = 0.12) -> list[Command]:
    """``n`` commands: fetch/move/go/find instructions over the catalog plus stop/cancel."""
    rng = np.random.default_rng(seed)
    out: list[Command] = []
    while len(out) < n:
        r = rng.random()
        if r < p_stop:
            text, kind = _STOPS[int(rng.integers(len(_STOPS)))]
            out.append(Command(text, kind))
            continue
        obj, oslots = _object(rng, p_synonym)
        src, s = _place(rng, p_synonym)
        dst, d = _place(rng, p_synonym, furniture=rng.random() < 0.8)
        src_slots = {f"source{k}": v for k, v in s.items()}
        dst_slots = {f"target{k}": v for k, v in d.items()}
        t = rng.random()
        if t < 0.35:
            verb_s = str(rng.choice(["Bring", "Take", "Carry", "Move"]))
            text = f"{verb_s} {obj} from {src} to {dst}."
            out.append(Command(text, "task", "bring", {**oslots, **src_slots, **dst_slots}))
        elif t < 0.5:
            prep = "on" if d[""] != d["_room"] else "in"
            text = f"Take {obj} from {src} and put it {prep} {dst}."
            out.append(Command(text, "task", "bring", {**oslots, **src_slots, **dst_slots}))
        elif t < 0.7:
            verb_s = str(rng.choice(["Put", "Place", "Move"]))
            prep = "to" if verb_s == "Move" else "on" if d[""] != d["_room"] else "in"
            out.append(Command(f"{verb_s} {obj} {prep} {dst}.", "task", "bring",
                               {**oslots, **dst_slots}))
        elif t < 0.85:
            room = str(rng.choice(list(catalog.ROOM_TYPES)))
            room_s = _say(room, "room", rng, p_synonym)
            verb_s = str(rng.choice(["Go to", "Drive to", "Please go to"]))
            out.append(Command(f"{verb_s} the {room_s}.", "task", "go",
                               {"target": room, "target_room": room}))
        else:
            room = str(rng.choice(list(catalog.ROOM_TYPES)))
            room_s = _say(room, "room", rng, p_synonym)
            out.append(Command(f"Find {obj} in the {room_s}.", "task", "find",
                               {**oslots, "source": room, "source_room": room}))
    return out


# -- voices ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Voice:
    """A synthetic speaker: ``backend`` (hibari or espeak), its voice name, and a speed."""

    name: str
    backend: str
    voice: str
    speed: float = 1.0


#: The benchmark's speakers: a neural voice at three speeds and British spelling-to-sound,
#: and formant voices (American, British, RP, a female variant) when espeak-ng is installed.
VOICES: tuple[Voice, ...] = (
    Voice("hibari-heart-1.0", "hibari", "heart", 1.0),
    Voice("hibari-heart-0.85", "hibari", "heart", 0.85),
    Voice("hibari-heart-1.2", "hibari", "heart", 1.2),
    Voice("hibari-heart-gb", "hibari", "heart-gb", 1.0),
    Voice("espeak-en-us-150", "espeak", "en-us", 150),
    Voice("espeak-en-gb-150", "espeak", "en-gb", 150),
    Voice("espeak-en-gb-rp-140", "espeak", "en-gb-x-rp", 140),
    Voice("espeak-en-us-f3-155", "espeak", "en-us+f3", 155),
)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def available_voices() -> list[Voice]:
    """The voices this machine can speak with."""
    return [v for v in VOICES if v.backend != "espeak" or espeak_available()]


class Synthesizer:
    """Speaks text with any :class:`Voice`; returns 16 kHz float32 audio."""

    def __init__(self) -> None:
        self._hibari: dict[str, object] = {}

    def _hibari_tts(self, voice: str):
        if voice not in self._hibari:
            from embodied_collab.errors import require

            hibari = require("hibari", "speech")
            if voice == "heart-gb":
                from hibari.g2p import G2P

                self._hibari[voice] = hibari.Hibari(voice="heart", g2p=G2P(british=True))
            else:
                self._hibari[voice] = hibari.Hibari(voice=voice)
        return self._hibari[voice]

    def speak(self, text: str, voice: Voice, seed: int = 0) -> np.ndarray:
        """``text`` spoken by ``voice`` at 16 kHz."""
        if voice.backend == "hibari":
            tts = self._hibari_tts(voice.voice)
            audio = tts(text, speed=voice.speed, seed=seed)
            return resample(np.asarray(audio, np.float32), int(tts.sample_rate))
        return espeak(text, voice.voice, int(voice.speed))


def espeak(text: str, voice: str = "en-us", words_per_minute: int = 160,
           timeout_s: float = 20.0) -> np.ndarray:
    """Speak with the espeak-ng program; 16 kHz float32 audio.

    Raises:
        DependencyNotInstalled: espeak-ng is not installed (``apt-get install espeak-ng``).
    """
    import soundfile as sf

    from embodied_collab.errors import DependencyNotInstalled

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DependencyNotInstalled("espeak-ng (Debian package)", "speech")
    proc = subprocess.run([exe, "-v", voice, "-s", str(words_per_minute), "--stdout", text],
                          capture_output=True, timeout=timeout_s, check=True)
    data, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    return resample(to_float_mono(data), int(rate), SAMPLE_RATE)
