"""The words the robot expects to hear: world names, synonyms, verbs; the ASR prompt; and a
fuzzy corrector that maps mis-heard words back onto them."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from embodied_collab.sim import catalog
from embodied_collab.speech.config_speech import CANCEL_PHRASES, STOP_PHRASES

#: Spoken synonyms of catalog names: surface phrase -> (kind, catalog key).
SYNONYMS: dict[str, tuple[str, str]] = {
    "mug": ("object", "cup"), "glass": ("object", "cup"), "beaker": ("object", "cup"),
    "flask": ("object", "bottle"), "carton": ("object", "box"), "package": ("object", "box"),
    "parcel": ("object", "box"), "crate": ("object", "box"), "novel": ("object", "book"),
    "football": ("object", "ball"),
    "couch": ("furniture", "sofa"), "settee": ("furniture", "sofa"),
    "refrigerator": ("furniture", "fridge"), "cupboard": ("furniture", "cabinet"),
    "bookshelf": ("furniture", "shelf"), "bookcase": ("furniture", "shelf"),
    "shelves": ("furniture", "shelf"), "worktop": ("furniture", "counter"),
    "countertop": ("furniture", "counter"), "chest of drawers": ("furniture", "dresser"),
    "basin": ("furniture", "sink"), "writing desk": ("furniture", "desk"),
    "lounge": ("room", "living_room"), "sitting room": ("room", "living_room"),
    "family room": ("room", "living_room"), "study": ("room", "office"),
    "corridor": ("room", "hallway"), "hall": ("room", "hallway"),
    "washroom": ("room", "bathroom"), "utility room": ("room", "laundry"),
    "laundry room": ("room", "laundry"),
    "violet": ("colour", "purple"), "little": ("size", "small"), "tiny": ("size", "small"),
    "big": ("size", "large"), "huge": ("size", "large"),
}

#: Spoken verbs -> the intent's verb class.
VERBS: dict[str, str] = {
    "bring": "bring", "take": "bring", "fetch": "bring", "get": "bring", "carry": "bring",
    "deliver": "bring", "move": "bring", "put": "bring", "place": "bring", "set": "bring",
    "go": "go", "navigate": "go", "drive": "go", "head": "go", "come": "go",
    "find": "find", "search": "find", "look": "find", "locate": "find", "where": "find",
    "open": "open", "pick": "pick", "grab": "pick",
}

#: Words that carry no world meaning (never corrected, never embedded).
FUNCTION_WORDS = frozenset(
    "a an the to from in into onto on at of and then it its that this these those please me "
    "for with by up down there here over under inside out off is are be can could would you "
    "will now my your our i we robot hey ok okay one just also back again next near behind "
    "left right which what is thing something some any all room area place item object stuff "
    "house home somewhere".split()
)

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` without punctuation (``"Put it, now!"`` -> put it now)."""
    return _WORD.findall(text.lower().replace("-", " "))


@dataclass
class Vocabulary:
    """Names of one world (or of the whole catalog) by kind, with synonyms.

    Attributes:
        phrases: spoken phrase -> (kind, catalog key); kinds are ``object``, ``furniture``,
            ``room``, ``colour``, ``size``.
        rooms: room id -> room type (empty without a world).
        furniture: furniture id -> (category, room id).
        objects: object id -> dict(category, colour, size, support, room).
    """

    phrases: dict[str, tuple[str, str]] = field(default_factory=dict)
    rooms: dict[str, str] = field(default_factory=dict)
    furniture: dict[str, tuple[str, str]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_catalog(cls) -> Vocabulary:
        """Every name the generator can use (grounding without a concrete world)."""
        v = cls()
        for kind, keys in (("room", catalog.ROOM_TYPES), ("furniture", catalog.FURNITURE),
                           ("object", catalog.OBJECTS), ("colour", catalog.COLOURS),
                           ("size", catalog.SIZES)):
            for key in keys:
                v.phrases[catalog.display_name(key)] = (kind, key)
        for phrase, target in SYNONYMS.items():
            v.phrases.setdefault(phrase, target)
        return v

    @classmethod
    def from_world(cls, world: Any) -> Vocabulary:
        """The catalog's names plus the concrete entities of ``world`` (a sim World)."""
        v = cls.from_catalog()
        v.rooms = {r.id: r.type for r in world.rooms}
        v.furniture = {f.id: (f.category, f.room) for f in world.furniture}
        for o in world.objects:
            room = None
            if o.support and o.support in v.furniture:
                room = v.furniture[o.support][1]
            elif hasattr(world, "room_at"):
                r = world.room_at(*o.position)
                room = r.id if r is not None else None
            v.objects[o.id] = {"category": o.category, "colour": o.colour, "size": o.size,
                               "support": o.support, "relation": o.relation, "room": room}
        return v

    @property
    def has_world(self) -> bool:
        return bool(self.rooms or self.furniture or self.objects)

    def find_phrases(self, words: list[str]) -> list[tuple[int, int, str, str]]:
        """The world's names said in ``words`` (exact matches) as ``(start, end, kind,
        key)``, in order; longer names are matched first and names do not overlap ("dining
        room" is one room, not a word and a room)."""
        out: list[tuple[int, int, str, str]] = []
        used = [False] * len(words)
        longest = max((p.count(" ") + 1 for p in self.phrases), default=0)
        for n in range(longest, 0, -1):
            for i in range(len(words) - n + 1):
                if any(used[i:i + n]):
                    continue
                target = self.phrases.get(" ".join(words[i:i + n]))
                if target is not None:
                    out.append((i, i + n, *target))
                    used[i:i + n] = [True] * n
        return sorted(out)

    def content_words(self) -> set[str]:
        """Single words that name something (plus verbs): the targets of correction."""
        out = set(VERBS)
        for phrase in self.phrases:
            out.update(phrase.split())
        return out - FUNCTION_WORDS

    def prompt(self) -> str:
        """An initial prompt for the ASR decoder that lists this world's vocabulary."""
        kinds: dict[str, list[str]] = {}
        for phrase, (kind, key) in self.phrases.items():
            if phrase == catalog.display_name(key):
                kinds.setdefault(kind, []).append(phrase)
        if self.has_world:  # only what this world holds, most useful first
            kinds["room"] = sorted({catalog.display_name(t) for t in self.rooms.values()})
            kinds["furniture"] = sorted({catalog.display_name(c)
                                         for c, _ in self.furniture.values()})
            kinds["object"] = sorted({o["category"] for o in self.objects.values()})
        return (
            f"Rooms: {', '.join(kinds.get('room', []))}. "
            f"Furniture: {', '.join(kinds.get('furniture', []))}. "
            f"Objects: {', '.join(kinds.get('object', []))}. "
            f"Colours: {', '.join(kinds.get('colour', []))}; {', '.join(kinds.get('size', []))}. "
            "Bring the red cup from the kitchen table to the desk in the office. Stop. Cancel."
        )


class Corrector:
    """Replace words the world does not know by close world words (``hiding room`` -> dining
    room, ``bracer`` -> dresser); words of ordinary English are left alone."""

    def __init__(self, vocabulary: Vocabulary, cutoff: float = 0.75) -> None:
        self.cutoff = cutoff
        # the words of stop and cancel orders are never corrected ("never mind" is no "find")
        self.known = vocabulary.content_words() | FUNCTION_WORDS | \
            {w for p in STOP_PHRASES + CANCEL_PHRASES for w in p.split()}
        self.targets = sorted(vocabulary.content_words())
        self.multi = sorted(p for p in vocabulary.phrases if " " in p)
        #: names with a small word inside ("chest of drawers"): (first, middle, last word)
        self.linked = sorted({tuple(p.split()) for p in self.multi if len(p.split()) == 3
                              and p.split()[1] in FUNCTION_WORDS})

    def correct(self, text: str) -> str:
        """The corrected transcript, lower-case words joined by spaces (punctuation dropped).
        A name with a small word inside heard with another small word ("chest and drawers")
        gets its own back."""
        words = words_of(text)
        for first, middle, last in self.linked:
            for i in range(len(words) - 2):
                if words[i] == first and words[i + 2] == last and \
                        (words[i + 1] in FUNCTION_WORDS or len(words[i + 1]) <= 3):
                    words[i + 1] = middle
        out: list[str] = []
        i = 0
        while i < len(words):
            w = words[i]
            if w in self.known or len(w) < 3:
                out.append(w)
                i += 1
                continue
            # an unknown word next to a known one may be half of a mis-heard two-word name
            if i + 1 < len(words):
                pair = f"{w} {words[i + 1]}"
                hit = difflib.get_close_matches(pair, self.multi, n=1, cutoff=self.cutoff)
                if hit:
                    out.extend(hit[0].split())
                    i += 2
                    continue
            hit = difflib.get_close_matches(w, self.targets, n=1, cutoff=self.cutoff)
            out.append(hit[0] if hit else w)
            i += 1
        return " ".join(out)

    def oov_rate(self, text: str) -> float:
        """Fraction of words the world does not know (used to rank n-best transcripts)."""
        words = words_of(text)
        if not words:
            return 1.0
        return sum(w not in self.known for w in words) / len(words)
