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
import itertools
from dataclasses import dataclass

from embodied_collab.sim import catalog
from embodied_collab.speech.vocabulary import SYNONYMS, VERBS, Vocabulary

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
_ARTICLES = frozenset({"the", "a", "an", "this", "that"})
#: Words said before the verb ("robot, please bring ...").
_LEADING = frozenset({"robot", "please", "hey", "okay", "ok", "now", "and", "then"})


@dataclass(frozen=True)
class Span:
    """Doubtful words ``words[start:end]`` and what the grammar expects there: ``verb``,
    ``modifier`` (a colour or size, before an object name), ``size`` or ``colour`` (where the
    description's order rules out what was heard: "the orange black book"), ``link`` (``to``
    heard as ``and``), ``preposition`` (a place name heard where ``from``/``to``/``on``
    belongs), ``object`` or ``name`` (any object, furniture or room name, or one of their
    synonyms)."""

    start: int
    end: int
    role: str


def world_names(vocabulary: Vocabulary) -> dict[str, list[str]]:
    """The spoken names a candidate may use, by kind, restricted to the world when there is
    one: ``object``, ``place`` (rooms and furniture), ``room``, ``modifier`` (object name ->
    the colours and sizes it comes in; ``""`` -> every colour and size), ``size`` and
    ``colour`` (every size or colour and their synonyms), ``described`` (``orange ball``,
    ``large orange ball``: the world's objects as they can be described)."""
    modifiers: dict[str, list[str]] = {"": sorted(catalog.COLOURS) + sorted(catalog.SIZES)}
    if vocabulary.has_world:
        objects = sorted({o["category"] for o in vocabulary.objects.values()})
        for o in vocabulary.objects.values():
            for m in (o["colour"], o["size"], f"{o['size']} {o['colour']}"):
                modifiers.setdefault(catalog.display_name(o["category"]), [])
                if m not in modifiers[catalog.display_name(o["category"])]:
                    modifiers[catalog.display_name(o["category"])].append(m)
        rooms = sorted({catalog.display_name(t) for t in vocabulary.rooms.values()})
        places = sorted(set(rooms) |
                        {catalog.display_name(c) for c, _ in vocabulary.furniture.values()})
        described = sorted({f"{o['colour']} {o['category']}" for o in vocabulary.objects.values()}
                           | {f"{o['size']} {o['colour']} {o['category']}"
                              for o in vocabulary.objects.values()})
    else:
        objects = sorted(catalog.OBJECTS)
        rooms = sorted(catalog.display_name(k) for k in catalog.ROOM_TYPES)
        places = sorted(set(rooms) | {catalog.display_name(k) for k in catalog.FURNITURE})
        described = sorted(f"{c} {catalog.display_name(o)}" for c in catalog.COLOURS
                           for o in objects)
    present = set(objects) | {k for k in catalog.ROOM_TYPES
                              if catalog.display_name(k) in rooms} | \
        {k for k in catalog.FURNITURE if catalog.display_name(k) in places}
    synonyms = sorted(p for p, (kind, key) in SYNONYMS.items()
                      if kind in ("object", "room", "furniture") and key in present)
    return {"object": [catalog.display_name(o) for o in objects], "place": places,
            "room": rooms, "described": described, "modifier": modifiers,
            "object_synonym": [p for p in synonyms if SYNONYMS[p][0] == "object"],
            "synonym": synonyms,
            **{kind: sorted(names) + sorted(p for p, (k, _) in SYNONYMS.items() if k == kind)
               for kind, names in (("size", catalog.SIZES), ("colour", catalog.COLOURS))}}


def suspect_spans(words: list[str], known: set[str], vocabulary: Vocabulary) -> list[Span]:
    """Runs of words the world does not know, with the role the grammar gives them; and a
    place name right after a colour or size ("the large hall": colours and sizes describe
    objects, so the object's name was misheard)."""
    phrases = vocabulary.phrases
    known = known | GRAMMAR_WORDS
    absent = _absent_places(words, vocabulary)
    spans: list[Span] = []
    i = 0
    while i < len(words):
        if i in absent:
            spans.append(Span(i, absent[i], "name"))
            i = absent[i]
            continue
        if words[i] in known or len(words[i]) < 2:
            prev = words[i - 1] if i else ""
            if _misheard_and_object(words, i, phrases, known):
                spans.append(Span(i, i + 2, "object"))
                i += 2
                continue
            if i and phrases.get(prev, ("",))[0] in ("colour", "size") and \
                    phrases.get(words[i], ("",))[0] in ("room", "furniture"):
                spans.append(Span(i, i + 1, "object"))
            elif _misheard_modifier(words, i, phrases):
                spans.append(Span(i, i + 1, "modifier"))
            elif (role := _misplaced_modifier(words, i, phrases, known)) is not None:
                spans.append(Span(i, i + 1, role))
            elif _misheard_to(words, i, phrases):
                spans.append(Span(i, i + 1, "link"))
            elif _misheard_preposition(words, i, phrases):
                spans.append(Span(i, i + 1, "preposition"))
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
        elif j < len(words) and phrases.get(words[j], ("",))[0] == "object":
            role = "modifier"  # "the mega apple": what describes the object was misheard
        elif prev in _ARTICLES and j + 1 < len(words) and \
                phrases.get(words[j], ("",))[0] == "colour" and \
                phrases.get(words[j + 1], ("",))[0] == "object":
            role = "size"  # "a few orange glass": only a size comes before a colour
        else:
            role = "name"
            if j < len(words) and words[j] == "room":
                j += 1  # "the very room desk": a room's name heard as two words
        spans.append(Span(i, j, role))
        i = j
    return spans


def _misheard_modifier(words: list[str], i: int, phrases: dict) -> bool:
    """A known word that names nothing where the grammar wants a colour or size: after an
    article or a size/colour and right before an object's name ("the right apple", "the
    small room apple")."""
    w, nxt = words[i], words[i + 1] if i + 1 < len(words) else ""
    if not i or w in phrases or w in VERBS or w in _ARTICLES or \
            phrases.get(nxt, ("",))[0] != "object":
        return False
    prev = words[i - 1]
    return prev in _ARTICLES or phrases.get(prev, ("",))[0] in ("colour", "size")


def _misplaced_modifier(words: list[str], i: int, phrases: dict,
                        known: set[str]) -> str | None:
    """What the grammar wants where a word cannot stand in an object's description (a size
    comes first, then a colour, then the object's name), or None:

    - ``size`` for a colour right before another colour ("the orange black book": the first
      was a misheard size) or a word that names nothing between an article and a colour that
      is followed by an object's name ("a few orange glass");
    - ``colour`` for a size right after a size ("the small small crate")."""
    kind = phrases.get(words[i], ("",))[0]
    nxt = phrases.get(words[i + 1], ("",))[0] if i + 1 < len(words) else ""
    prev = phrases.get(words[i - 1], ("",))[0] if i else ""
    if kind == "colour" and nxt == "colour":
        return "size"
    if kind == "size" and prev == "size":
        return "colour"
    if kind or not i or words[i - 1] not in _ARTICLES or nxt != "colour" or \
            words[i] in VERBS or words[i] in _ARTICLES or words[i] in GRAMMAR_WORDS or \
            i + 2 >= len(words):
        return None
    after = words[i + 2]
    return "size" if phrases.get(after, ("",))[0] == "object" or \
        after not in known and len(after) >= 2 else None


def _misheard_and_object(words: list[str], i: int, phrases: dict, known: set[str]) -> bool:
    """An ``and`` between a colour or size and an object's name (or a word the world does not
    know): "the green and book", where the grammar has the colour's object right after it
    ("the green box"); the ``and`` and the name after it were one misheard name."""
    if words[i] != "and" or not 0 < i < len(words) - 1:
        return False
    nxt = words[i + 1]
    return phrases.get(words[i - 1], ("",))[0] in ("colour", "size") and (
        phrases.get(nxt, ("",))[0] == "object" or nxt not in known and len(nxt) >= 2)


#: What a place name heard between an object and ``the <place>`` stands for.
_PREPOSITIONS: tuple[str, ...] = ("from", "to", "on")


def _misheard_preposition(words: list[str], i: int, phrases: dict) -> bool:
    """A room or furniture name right after an object's name and right before an article:
    "take the red cup *bed* the laundry cabinet", where the grammar has a preposition
    ("from the laundry cabinet"); a place name is never followed by "the" in a command."""
    if not 0 < i < len(words) - 1 or words[i + 1] not in _ARTICLES:
        return False
    return phrases.get(words[i], ("",))[0] in ("room", "furniture") and \
        phrases.get(words[i - 1], ("",))[0] == "object"


def _misheard_to(words: list[str], i: int, phrases: dict) -> bool:
    """An ``and`` where the grammar wants ``to``: after ``from <place>`` with no ``to`` yet,
    before ``the <place>`` and no further verb ("take the cup from the shelf and the table in
    the kitchen")."""
    if words[i] != "and" or "from" not in words[:i] or "to" in words[words.index("from"):i]:
        return False
    rest = words[i + 1:]
    return bool(rest) and rest[0] in _ARTICLES and not any(w in VERBS for w in rest) and \
        any(phrases.get(w, ("",))[0] in ("room", "furniture") for w in rest[1:3])


def _absent_places(words: list[str], vocabulary: Vocabulary) -> dict[int, int]:
    """``start -> end`` of room and furniture names this world does not have ("the
    bathroom" in a house without one): known words, but doubtful here."""
    if not vocabulary.has_world:
        return {}
    present = {"room": set(vocabulary.rooms.values()),
               "furniture": {c for c, _ in vocabulary.furniture.values()}}
    out: dict[int, int] = {}
    i = 0
    while i < len(words):
        for n in (2, 1):
            kind, key = vocabulary.phrases.get(" ".join(words[i:i + n]), ("", ""))
            if len(words[i:i + n]) == n and kind in present:
                if key not in present[kind]:
                    out[i] = i + n
                i += n - 1
                break
        i += 1
    return out


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
    ``per_span`` of them; every object of the world where an object is expected): at most
    ``max_candidates`` of these. With ``stop_words`` (a short utterance that means nothing),
    also the stop/cancel orders and, when it ends in a place's name, the orders to go there.
    The original is never a candidate."""
    names = world_names(vocabulary)
    known = known | GRAMMAR_WORDS
    out: list[str] = []
    for span in suspect_spans(words, known, vocabulary):
        text = " ".join(words[span.start:span.end])
        if span.role == "verb":
            options = list(dict.fromkeys(_ranked(text, list(VERB_PHRASES), 2) +
                                         list(_COMMON_VERBS)))
        elif span.role == "link":
            options = ["to"]
        elif span.role == "preposition":
            options = list(_PREPOSITIONS)
        elif span.role == "modifier":
            options = names["modifier"].get(words[span.end], names["modifier"][""])
        elif span.role in ("size", "colour"):
            options = names[span.role]
        elif span.role == "object":
            options = list(names["object"])
            if span.end - span.start >= 2 and names["described"]:
                options += _ranked(text, names["described"], per_span)
            options += _ranked(text, names["object_synonym"], len(names["object_synonym"]))
        else:
            options = _ranked(text, names["object"] + names["place"] + names["synonym"],
                              per_span)
            if _object_position(words, span):  # where the object goes: every object too
                options += names["object"] + _ranked(text, names["described"], per_span)
            elif _place_then_article(words, span):  # "the measuring the bedroom"
                furniture = [p for p in names["place"] if p not in names["room"]]
                options += [f"{p} in" for p in _ranked(text, furniture, per_span)]
            options = list(dict.fromkeys(options))
        for opt in options:
            cand = " ".join(words[:span.start] + opt.split() + words[span.end:])
            if cand not in out and cand != " ".join(words):
                out.append(cand)
        for cand in _second_clause(words, span, names, per_span):
            if cand not in out:
                out.append(cand)
    out = out[:max_candidates]
    if stop_words:
        out = [s for s in go_to_named_place(words, vocabulary) + list(STOP_CANDIDATES)
               if s != " ".join(words) and s not in out] + out
    return out


#: Prepositions a recheck swaps for each other ("take the cup *to* the table" -> "from").
SLOT_PREPOSITIONS: tuple[str, ...] = ("from", "to", "on", "onto", "in")


def slot_candidates(words: list[str], doubted: list[int], vocabulary: Vocabulary, *,
                    max_candidates: int = 16) -> list[str]:
    """Transcripts naming another thing of the same kind where ``words`` has a doubted
    world name or preposition: each word index in ``doubted`` (most doubted first) that lies
    in a colour, size, object, room or furniture name gives one candidate per other name of
    that kind in the world, synonyms included ("the blue flask" -> "the black flask", "the
    red flask", ...; "the orange apple" -> "the orange novel"), but none that means the same
    ("little" is "small"); a doubted preposition gives the others of
    :data:`SLOT_PREPOSITIONS`. The doubted words take turns (the first candidate of each,
    then the second of each, ...), so one with many alternatives does not crowd out the
    rest. At most ``max_candidates``; the original is never one."""
    names = world_names(vocabulary)
    synonyms = {kind: [p for p in names["synonym"] if SYNONYMS[p][0] == kind]
                for kind in ("object", "room", "furniture")}
    options = {"colour": sorted(catalog.COLOURS), "size": sorted(catalog.SIZES),
               "object": names["object"] + synonyms["object"],
               "room": names["room"] + synonyms["room"],
               "furniture": [p for p in names["place"] if p not in names["room"]] +
               synonyms["furniture"], "preposition": list(SLOT_PREPOSITIONS)}
    spans = [(start, end, kind) for start, end, kind, _ in vocabulary.find_phrases(words)] + \
        [(i, i + 1, "preposition") for i, w in enumerate(words) if w in SLOT_PREPOSITIONS]
    original = " ".join(words)
    per_slot: list[list[str]] = []
    done: set[int] = set()
    for i in doubted:
        for start, end, kind in spans:
            if not start <= i < end or start in done or kind not in options:
                continue
            done.add(start)
            said = " ".join(words[start:end])
            meaning = vocabulary.phrases.get(said, ("", said))[1]
            per_slot.append([" ".join(words[:start] + opt.split() + words[end:])
                             for opt in options[kind]
                             if vocabulary.phrases.get(opt, ("", opt))[1] != meaning])
    out: list[str] = []
    for turn in itertools.zip_longest(*per_slot):
        out += [c for c in turn if c is not None and c != original and c not in out]
    return out[:max_candidates]


#: How a short order to drive somewhere starts.
_GO_PHRASES: tuple[str, ...] = tuple(v for v in VERB_PHRASES if v.endswith(" to"))


def go_to_named_place(words: list[str], vocabulary: Vocabulary) -> list[str]:
    """For a short utterance that ends in a room or furniture name with no article before it
    (``climb cabinet study``, where ``drive to the study`` was said): that place with each
    of the grammar's ways of sending the robot somewhere (``go to the study``, ...). An order
    to move made up from one heard name is risky (a misheard "robot, stop" can end in a
    place's name), so the pipeline takes one only where the decoder prefers it to what it
    heard."""
    for n in (2, 1):
        place = " ".join(words[-n:])
        if len(words) > n and words[-n - 1] not in _ARTICLES and \
                vocabulary.phrases.get(place, ("",))[0] in ("room", "furniture"):
            return [f"{v} the {place}" for v in _GO_PHRASES]
    return []


#: Words before an article that make what follows a place, not the object ("to the ...").
_PLACE_PREPS = frozenset({"to", "in", "into", "on", "onto", "at", "from", "of", "under",
                          "inside", "near", "behind"})


def _object_position(words: list[str], span: Span) -> bool:
    """Whether the grammar has the command's object where ``span`` stands: right after an
    article that follows no preposition, with no object named or referred to before it
    ("find the ramen chapel in the lounge", "take the raindrops from the shelf")."""
    if span.start < 1 or words[span.start - 1] not in _ARTICLES:
        return False
    if span.start >= 2 and words[span.start - 2] in _PLACE_PREPS:
        return False
    before = words[:span.start - 1]
    return not ({"it", "them"} & set(before)) and \
        not any(catalog.OBJECTS.get(w) is not None for w in before)


def _place_then_article(words: list[str], span: Span) -> bool:
    """Whether ``span`` stands between two articles after a preposition ("from the
    *measuring* the bedroom"): a place's name and the ``in`` that joins it to the room
    ("from the dresser in the bedroom"), heard as one word."""
    return 2 <= span.start and span.end < len(words) and words[span.end] in _ARTICLES and \
        words[span.start - 1] in _ARTICLES and words[span.start - 2] in _PLACE_PREPS


def _second_clause(words: list[str], span: Span, names: dict[str, list[str]],
                   k: int) -> list[str]:
    """Where a doubtful span ends a second clause that has no verb (``take the cup from the
    cupboard and for this indication``), the grammar's second clause in its place: ``... and
    put it in the <room>`` for every room of the world, and ``... on the <place>`` for the
    ``k`` places closest in spelling to the last word heard (a misheard clause's spelling says
    little, so rooms, the usual destination, are all tried)."""
    if span.role != "name" or span.end != len(words):
        return []
    try:
        a = len(words) - 1 - words[::-1].index("and", len(words) - span.start)
    except ValueError:
        return []
    heard = words[a + 1:span.end]
    if a == 0 or any(w in VERBS for w in heard) or not any(w in VERBS for w in words[:a]):
        return []
    head = words[:a + 1] + ["put", "it"]
    return ([" ".join(head + ["in", "the", *room.split()]) for room in names["room"]] +
            [" ".join(head + ["on", "the", *place.split()])
             for place in _ranked(heard[-1], names["place"], k)])


def sentence(text: str) -> str:
    """A candidate written as the decoder writes a command: ``Find the blue box.``"""
    text = text.strip()
    return (text[:1].upper() + text[1:] + ".") if text else ""
