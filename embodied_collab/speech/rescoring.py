"""World-constrained rescoring: when a transcript is doubtful (words the world does not know, an
intent that would ask back), candidate commands are built from the world's names and the
command grammar by replacing the doubtful words, and the ASR decoder judges every candidate
against the audio by forced decoding (:meth:`embodied_collab.speech.asr.Transcriber.score`).

This module only builds the candidates (pure logic, no model): ``find the blue marks in the
kitchen`` -> ``find the blue box ...``, ``find the blue cup ...``; ``i'm the small white cup``
-> ``find the small white cup``, ``bring the small white cup``; a short unintelligible
utterance (``low mat star``) -> ``robot stop``, ``cancel``, ...
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from embodied_collab.sim import catalog
from embodied_collab.speech.vocabulary import VERBS, Vocabulary

#: How commands start (the grammar's verb phrases).
VERB_PHRASES: tuple[str, ...] = (
    "bring", "take", "fetch", "get", "carry", "move", "put", "place", "go to", "drive to",
    "find", "look for", "search for", "locate", "open", "pick up", "grab",
)
#: Verb phrases always tried where the verb was misheard (the grammar's most common ones).
_COMMON_VERBS: tuple[str, ...] = ("put", "take", "bring", "move", "find", "go to")
#: Stop and cancel orders as spoken (the keyword spotter's candidates).
STOP_CANDIDATES: tuple[str, ...] = (
    "stop", "robot stop", "stop now", "halt", "freeze", "cancel", "cancel that",
    "never mind", "forget it", "abort",
)
#: Words of the command grammar that name nothing but are never doubtful ("not the large one").
GRAMMAR_WORDS = frozenset(
    "not no don't do doesn't but instead first then after before where when while until "
    "once twice other another".split()
)
#: Words said before the verb ("robot, please bring ...").
_LEADING = frozenset({"robot", "please", "hey", "okay", "ok", "now", "and", "then"})


@dataclass(frozen=True)
class Span:
    """Doubtful words ``words[start:end]`` and what the grammar expects there: ``verb``,
    ``object`` or ``name`` (any object, furniture or room name)."""

    start: int
    end: int
    role: str


def world_names(vocabulary: Vocabulary) -> dict[str, list[str]]:
    """The spoken names a candidate may use, by kind, restricted to the world when there is
    one: ``object``, ``place`` (rooms and furniture), ``described`` (``orange ball``,
    ``large orange ball``: the world's objects as they can be described)."""
    if vocabulary.has_world:
        objects = sorted({o["category"] for o in vocabulary.objects.values()})
        places = sorted({catalog.display_name(t) for t in vocabulary.rooms.values()} |
                        {catalog.display_name(c) for c, _ in vocabulary.furniture.values()})
        described = sorted({f"{o['colour']} {o['category']}" for o in vocabulary.objects.values()}
                           | {f"{o['size']} {o['colour']} {o['category']}"
                              for o in vocabulary.objects.values()})
    else:
        objects = sorted(catalog.OBJECTS)
        places = sorted({catalog.display_name(k) for k in catalog.ROOM_TYPES} |
                        {catalog.display_name(k) for k in catalog.FURNITURE})
        described = []
    return {"object": [catalog.display_name(o) for o in objects], "place": places,
            "described": described}


def suspect_spans(words: list[str], known: set[str], vocabulary: Vocabulary) -> list[Span]:
    """Runs of words the world does not know, with the role the grammar gives them; and a
    place name right after a colour or size ("the large hall": colours and sizes describe
    objects, so the object's name was misheard)."""
    phrases = vocabulary.phrases
    known = known | GRAMMAR_WORDS
    spans: list[Span] = []
    i = 0
    while i < len(words):
        if words[i] in known or len(words[i]) < 2:
            prev = words[i - 1] if i else ""
            if i and phrases.get(prev, ("",))[0] in ("colour", "size") and \
                    phrases.get(words[i], ("",))[0] in ("room", "furniture"):
                spans.append(Span(i, i + 1, "object"))
            i += 1
            continue
        j = i
        while j < len(words) and words[j] not in known and len(words[j]) >= 2 and j - i < 2:
            j += 1
        before = [w for w in words[:i] if w not in _LEADING]
        prev = words[i - 1] if i else ""
        if not before and not any(w in VERBS for w in words[:i]):
            role = "verb"
        elif phrases.get(prev, ("",))[0] in ("colour", "size"):
            role = "object"
        else:
            role = "name"
        spans.append(Span(i, j, role))
        i = j
    return spans


def _ranked(span_text: str, options: list[str], k: int) -> list[str]:
    key = span_text.replace(" ", "")
    scored = sorted(options, key=lambda o: -difflib.SequenceMatcher(
        None, key, o.replace(" ", "")).ratio())
    return scored[:k]


def candidate_texts(words: list[str], known: set[str], vocabulary: Vocabulary, *,
                    stop_words: bool = False, per_span: int = 4,
                    max_candidates: int = 12) -> list[str]:
    """Candidate transcripts for ``words`` (a lower-case transcript): each doubtful span
    replaced by the world's names that the grammar allows there (the closest-spelled
    ``per_span`` of them; every object of the world where an object is expected), and with
    ``stop_words`` the stop/cancel orders. At most ``max_candidates``, original excluded."""
    names = world_names(vocabulary)
    known = known | GRAMMAR_WORDS
    out: list[str] = []
    for span in suspect_spans(words, known, vocabulary):
        text = " ".join(words[span.start:span.end])
        if span.role == "verb":
            options = list(dict.fromkeys(_ranked(text, list(VERB_PHRASES), 2) +
                                         list(_COMMON_VERBS)))
        elif span.role == "object":
            options = list(names["object"])
            if span.end - span.start >= 2 and names["described"]:
                options += _ranked(text, names["described"], per_span)
        else:
            options = _ranked(text, names["object"] + names["place"], per_span)
        for opt in options:
            cand = " ".join(words[:span.start] + opt.split() + words[span.end:])
            if cand not in out and cand != " ".join(words):
                out.append(cand)
    if stop_words:
        out = [s for s in STOP_CANDIDATES if s != " ".join(words)] + out
    return out[:max_candidates]


def sentence(text: str) -> str:
    """A candidate written as the decoder writes a command: ``Find the blue box.``"""
    text = text.strip()
    return (text[:1].upper() + text[1:] + ".") if text else ""
