"""Generated household commands with labelled personal data, to measure the privacy filter.

Each command mixes personal data (names, phone numbers, e-mails, street addresses in several
formats) with household words that must NOT be redacted: room and furniture names, object
names, colours and wood finishes, often capitalised ("Kitchen", "Oak table", "Red cup").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodied_collab.cloud.privacy import FIRST_NAMES, SURNAMES, PrivacyFilter
from embodied_collab.sim import catalog

_STREETS = [
    "Baker",
    "Elm",
    "Maple",
    "High",
    "Station",
    "Church",
    "Mill",
    "Victoria",
    "Park View",
    "North Bridge",
    "Cedar Hill",
    "Queen",
]
_SUFFIXES = [
    "Street",
    "St.",
    "Road",
    "Rd",
    "Avenue",
    "Ave",
    "Lane",
    "Drive",
    "Boulevard",
    "Way",
    "Court",
    "Place",
    "Terrace",
]
_CITIES = ["Springfield", "London", "Leeds", "Boston", "Dublin", "Austin", "Oxford"]
_DOMAINS = ["example.com", "example.org", "mail.example.net", "home.example.de", "uni.example.edu"]
_DE_STREETS = ["Haupt", "Linden", "Garten", "Schiller", "Berg"]
#: Family names that are NOT in the filter's list: they test the "capitalised word after a
#: first name or a title" rule rather than the list.
_UNLISTED_SURNAMES = [
    "Whitfield",
    "Okoro",
    "Lindqvist",
    "Marchetti",
    "Haddad",
    "Fairbanks",
    "Castellano",
    "Brennan",
    "Takahashi",
    "Oyelaran",
]


@dataclass
class LabelledCommand:
    """A command and the ``(start, end, kind)`` spans of its personal data."""

    text: str
    spans: list[tuple[int, int, str]]


def _cap(word: str, rng) -> str:
    return word.capitalize() if rng.random() < 0.5 else word


def _person(rng) -> str:
    first = str(rng.choice(sorted(FIRST_NAMES))).capitalize()
    r = rng.random()
    if r < 0.35:
        return first
    pool = sorted(SURNAMES) + _UNLISTED_SURNAMES
    sur = str(rng.choice(pool)).capitalize()
    if r < 0.75:
        return f"{first} {sur}"
    if r < 0.9:
        return f"{rng.choice(['Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Dr', 'Mr'])} {sur}"
    return first.lower()  # a speech transcript without capitals


def _phone(rng) -> str:
    d = lambda k: "".join(str(rng.integers(10)) for _ in range(k))  # noqa: E731
    fmt = int(rng.integers(7))
    return [
        f"+1 ({d(3)}) {d(3)}-{d(4)}",
        f"{d(3)}-{d(3)}-{d(4)}",
        f"{d(3)}.{d(3)}.{d(4)}",
        f"+44 20 {d(4)} {d(4)}",
        f"0{d(4)} {d(6)}",
        f"+49 30 {d(8)}",
        f"({d(3)}) {d(3)} {d(4)}",
    ][fmt]


def _email(rng) -> str:
    first = str(rng.choice(sorted(FIRST_NAMES)))
    sur = str(rng.choice(sorted(SURNAMES)))
    user = [f"{first}.{sur}", f"{first}{rng.integers(10, 99)}", f"{first[0]}{sur}", first][
        int(rng.integers(4))
    ]
    return f"{user}@{rng.choice(_DOMAINS)}"


def _address(rng) -> str:
    n = int(rng.integers(1, 999))
    fmt = int(rng.integers(4))
    street = f"{rng.choice(_STREETS)} {rng.choice(_SUFFIXES)}"
    if fmt == 0:
        return f"{n} {street}"
    if fmt == 1:
        return f"{n} {street}, {rng.choice(_CITIES)}"
    if fmt == 2:
        city = rng.choice(_CITIES)
        return f"{n} {street}, Apt {rng.integers(1, 40)}, {city} {rng.integers(10000, 99999)}"
    de_street = f"{rng.choice(_DE_STREETS)}strasse {rng.integers(1, 120)}"
    return f"{de_street}, {rng.integers(10000, 99999)} Berlin"


def _household(rng) -> tuple[str, str, str]:
    """(object phrase, furniture phrase, room phrase), often capitalised."""
    obj = (
        f"{_cap(str(rng.choice(list(catalog.COLOURS))), rng)} {rng.choice(list(catalog.OBJECTS))}"
    )
    if rng.random() < 0.3:
        obj = f"{_cap(str(rng.choice(list(catalog.SIZES))), rng)} {obj}"
    furn = (
        f"{_cap(str(rng.choice(list(catalog.FURNITURE_COLOURS))), rng)} "
        f"{_cap(str(rng.choice(list(catalog.FURNITURE))), rng)}"
    )
    room = " ".join(
        _cap(w, rng)
        for w in catalog.display_name(str(rng.choice(list(catalog.ROOM_TYPES)))).split()
    )
    return obj, furn, room


_TEMPLATES = [
    "Bring the {obj} from the {furn} to {PERSON} in the {room}.",
    "Tell {PERSON} that the {obj} is on the {furn} in the {room}.",
    "Call {PHONE} and say the {obj} is ready in the {room}.",
    "Send a note to {EMAIL}: the {obj} is on the {furn}.",
    "Take the {obj} to the {room}, it is a parcel for {ADDRESS}.",
    "Ask {PERSON} ({PHONE}) whether the {obj} goes on the {furn}.",
    "Put the {obj} on the {furn} for {PERSON}, then e-mail {EMAIL}.",
    "{PERSON} lives at {ADDRESS}; put the {obj} in the {furn} for pick-up.",
    "Wait 10 seconds, then bring the {obj} to the {room} and tell {PERSON}.",
    "Get the {obj} from the {room} {furn} and text {PHONE}.",
    "Please put 2 {obj}s on the {furn} in the {room}.",  # no personal data at all
    "At 10:30 open the {furn} in the {room}, wait 45 seconds and fetch the {obj}.",  # none
    "Move the {obj} to the {furn}; {PERSON} and {PERSON} are waiting in the {room}.",
]


def generate_commands(n: int, seed: int = 0) -> list[LabelledCommand]:
    """``n`` labelled commands drawn from templates with random personal data."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    makers = {"PERSON": _person, "PHONE": _phone, "EMAIL": _email, "ADDRESS": _address}
    out = []
    for _ in range(n):
        tpl = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
        obj, furn, room = _household(rng)
        text, spans, pos = "", [], 0
        fields = {"obj": obj, "furn": furn, "room": room}
        while True:
            start = tpl.find("{", pos)
            if start < 0:
                text += tpl[pos:]
                break
            end = tpl.index("}", start)
            text += tpl[pos:start]
            key = tpl[start + 1 : end]
            value = makers[key](rng) if key in makers else fields[key]
            if key in makers:
                spans.append((len(text), len(text) + len(value), key))
            text += value
            pos = end + 1
        out.append(LabelledCommand(text=text, spans=spans))
    return out


def score(filter_: PrivacyFilter, commands: list[LabelledCommand]) -> dict[str, float]:
    """Entity-level recall and precision of ``filter_`` on labelled commands.

    A true entity is found when one redacted span covers all of its characters; a redacted
    span is correct when it overlaps a true entity (a span that hits a household word or
    nothing personal is a false positive).
    """
    tp_true = n_true = tp_pred = n_pred = 0
    for cmd in commands:
        pred = filter_.find(cmd.text)
        n_true += len(cmd.spans)
        n_pred += len(pred)
        for s, e, _ in cmd.spans:
            if any(ps <= s and pe >= e for ps, pe, _ in pred):
                tp_true += 1
        for ps, pe, _ in pred:
            if any(ps < e and pe > s for s, e, _ in cmd.spans):
                tp_pred += 1
    return {
        "pii_recall": tp_true / n_true if n_true else 1.0,
        "pii_precision": tp_pred / n_pred if n_pred else 1.0,
        "pii_entities": n_true,
        "pii_commands": len(commands),
    }
