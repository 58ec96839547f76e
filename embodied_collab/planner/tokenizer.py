"""A word-level tokenizer for the planner's closed vocabulary.

The planning environment's text (instruction + observed scene graph + action history) uses a
small, fixed vocabulary: the catalog's room, furniture and object names, colours, sizes, verbs,
entity ids and a few template words. Entity ids are split into a category token and a number
token (``cup_12`` -> ``cup`` ``#12``), so that the model shares what it learns about "cup" across
instances and reads a number as a number. The vocabulary is saved with the checkpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from embodied_collab.errors import InvalidFileError
from embodied_collab.sim import catalog

PAD, UNK, BOS, SEP, NONE = "<pad>", "<unk>", "<bos>", "<sep>", "<none>"
SPECIALS = (PAD, UNK, BOS, SEP, NONE)
MAX_NUMBER = 32
#: Words of the instruction templates and the serialisation that are not catalog names.
TEMPLATE_WORDS = (
    "a an the and or not to from in on into onto of it is that there one at with by for "
    "pick up get go grab bring take put move find look somewhere house place places "
    "room rooms robot holding held nothing you are instruction task goal scene graph seen "
    "unseen visited unexplored history step steps action actions last result ok failed "
    "invalid closed open opened empty contains near here door doors connects connected "
    "navigate done pick place open none object objects furniture location at_furniture "
    "small large colour color size inside ontop unknown true false yes no reach reachable "
    "unreachable success fail error explored already cannot be reached first there its "
    "piece this house slot index range out reset complete but start robot floor"
).split()
PUNCT = tuple(".,:;()[]{}|-=>/'\"!?+*<")

_TOKEN_RE = re.compile(r"[a-z]+(?:_[a-z]+)*_\d+|[a-z]+(?:_[a-z]+)*|\d+(?:\.\d+)?|\S")
_ID_RE = re.compile(r"([a-z]+(?:_[a-z]+)*)_(\d+)$")
#: Instructions say "living room"; the scene graph says "living_room": read both as one token.
_MULTIWORD = [(catalog.display_name(t), t) for t in catalog.ROOM_TYPES if "_" in t]


def number_token(n: int) -> str:
    """``#n`` for small integers, ``#many`` beyond :data:`MAX_NUMBER`."""
    return f"#{n}" if 0 <= n <= MAX_NUMBER else "#many"


def base_vocabulary() -> list[str]:
    """Every token the catalog and the templates define, in a fixed order."""
    words: list[str] = list(SPECIALS)
    groups: list[Iterable[str]] = [
        catalog.ROOM_TYPES, catalog.FURNITURE, catalog.OBJECTS, catalog.COLOURS, catalog.SIZES,
        catalog.FURNITURE_COLOURS, catalog.PLAN_VERBS, catalog.SKILLS, catalog.DIFFICULTIES,
        [p for t in catalog.ROOM_TYPES for p in t.split("_")], TEMPLATE_WORDS, PUNCT,
        [number_token(i) for i in range(MAX_NUMBER + 1)], ["#many"],
    ]
    seen = set(words)
    for group in groups:
        for w in group:
            if w not in seen:
                seen.add(w)
                words.append(w)
    return words


class PlanTokenizer:
    """Maps planner text to token ids over a closed vocabulary.

    Args:
        vocab: the token list (index = id); defaults to :func:`base_vocabulary`.
    """

    def __init__(self, vocab: list[str] | None = None) -> None:
        self.vocab = list(vocab) if vocab is not None else base_vocabulary()
        if self.vocab[: len(SPECIALS)] != list(SPECIALS):
            raise ValueError(f"vocabulary must start with {SPECIALS}")
        self.index = {w: i for i, w in enumerate(self.vocab)}
        if len(self.index) != len(self.vocab):
            raise ValueError("vocabulary has duplicate tokens")
        self.pad_id = self.index[PAD]
        self.unk_id = self.index[UNK]
        self.bos_id = self.index[BOS]
        self.sep_id = self.index[SEP]
        self.none_id = self.index[NONE]

    def __len__(self) -> int:
        return len(self.vocab)

    # ------------------------------------------------------------------ words
    def words(self, text: str) -> list[str]:
        """Split ``text`` into vocabulary words (ids split into category + number)."""
        out: list[str] = []
        text = text.lower()
        for spoken, ident in _MULTIWORD:
            text = text.replace(spoken, ident)
        for piece in _TOKEN_RE.findall(text):
            if piece in self.index:
                out.append(piece)
                continue
            m = _ID_RE.match(piece)
            if m:
                out.extend(self._word(m.group(1)))
                out.append(number_token(int(m.group(2))))
            elif piece[0].isdigit():
                out.append(number_token(int(round(float(piece)))))
            else:
                out.extend(self._word(piece))
        return out

    def _word(self, word: str) -> list[str]:
        if word in self.index:
            return [word]
        return [p if p in self.index else UNK for p in word.split("_")]

    def ids_of(self, words) -> list[int]:
        """Ids of those ``words`` that are in the vocabulary."""
        return [self.index[w] for w in words if w in self.index]

    def special_sets(self) -> dict[str, list[int]]:
        """Token id sets the model's grounding features use."""
        return {
            "boundary": self.ids_of(["explored", "unexplored"]),
            "content": self.ids_of([*catalog.COLOURS, *catalog.SIZES, *catalog.OBJECTS,
                                    *catalog.FURNITURE, *catalog.ROOM_TYPES]),
            "rooms": self.ids_of(list(catalog.ROOM_TYPES)),
            "furniture": self.ids_of(list(catalog.FURNITURE)),
            "objects": self.ids_of(list(catalog.OBJECTS)),
            "numbers": [i for w, i in self.index.items() if w.startswith("#")],
            # single tokens, in this order: not robot at [ ] from to and onto into
            "marks": self.ids_of(["not", "robot", "at", "[", "]", "from", "to", "and", "onto",
                                  "into"]),
            "sizes": self.ids_of(list(catalog.SIZES)),
            # single tokens, in this order: closed explored doors - in holding nothing
            "marks2": self.ids_of(["closed", "explored", "doors", "-", "in", "holding",
                                   "nothing"]),
            "the": self.ids_of(["the"]),
        }

    def encode(self, text: str, max_tokens: int | None = None, head: int = 48) -> list[int]:
        """Token ids of ``text`` after a ``<bos>``.

        When longer than ``max_tokens``, the first ``head`` tokens (the instruction) and the
        most recent tail are kept, joined by ``<sep>``.
        """
        ids = [self.bos_id] + [self.index.get(w, self.unk_id) for w in self.words(text)]
        return self.cut(ids, max_tokens, head)

    def cut(self, ids: list[int], max_tokens: int | None, head: int = 48) -> list[int]:
        """``ids`` if at most ``max_tokens`` long, else its first ``head`` ids and most recent
        tail joined by ``<sep>`` (see :meth:`encode`)."""
        if max_tokens is not None and len(ids) > max_tokens:
            head = min(head, max_tokens // 2)
            ids = ids[:head] + [self.sep_id] + ids[len(ids) - (max_tokens - head - 1):]
        return ids

    def encode_action(self, action: str) -> list[int]:
        """Exactly three ids for a high-level action: verb, argument category, argument number."""
        words = self.words(action)
        ids = [self.index.get(w, self.unk_id) for w in words[:3]]
        return ids + [self.none_id] * (3 - len(ids))

    def decode(self, ids: Iterable[int]) -> str:
        """The words of ``ids`` joined by spaces (padding dropped)."""
        return " ".join(self.vocab[i] for i in ids if i != self.pad_id)

    def unknown_words(self, texts: Iterable[str]) -> set[str]:
        """Words of ``texts`` that map to ``<unk>`` (to extend the vocabulary)."""
        out: set[str] = set()
        for text in texts:
            for piece in _TOKEN_RE.findall(text.lower()):
                if piece not in self.index and not _ID_RE.match(piece) and not piece[0].isdigit():
                    out.update(p for p in piece.split("_") if p not in self.index)
        return out

    def extended(self, words: Iterable[str]) -> PlanTokenizer:
        """A tokenizer with ``words`` appended to the vocabulary (existing ids unchanged)."""
        extra = sorted(set(words) - set(self.index))
        return PlanTokenizer(self.vocab + extra)

    # ------------------------------------------------------------------- files
    def to_dict(self) -> dict:
        return {"format": "embodied_collab.plan_tokenizer", "version": 1, "vocab": self.vocab}

    @classmethod
    def from_dict(cls, doc: object, *, source: str = "<memory>") -> PlanTokenizer:
        """Rebuild a saved tokenizer; a malformed document raises :class:`InvalidFileError`."""
        if not isinstance(doc, dict) or doc.get("format") != "embodied_collab.plan_tokenizer":
            raise InvalidFileError("not a planner tokenizer document", path=source)
        vocab = doc.get("vocab")
        if not isinstance(vocab, list) or not all(isinstance(w, str) for w in vocab):
            raise InvalidFileError("vocab must be a list of strings", path=source,
                                   json_path="$.vocab")
        try:
            return cls(vocab)
        except ValueError as exc:
            raise InvalidFileError(str(exc), path=source, json_path="$.vocab") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()) + "\n")
