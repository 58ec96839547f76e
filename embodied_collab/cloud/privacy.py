"""Robot-side privacy filter: personal data in a command never leaves the robot.

Personal names, phone numbers, e-mail addresses and street addresses are replaced by
placeholders (``[PERSON_1]``, ``[PHONE_1]``, ``[EMAIL_1]``, ``[ADDRESS_1]``) before a command
is sent to the cloud, and restored in the plan that comes back. Detection is rule-based
(patterns plus a name list) so it is predictable and runs in microseconds; the household
vocabulary (rooms, furniture, objects, colours) is protected from redaction even when written
with a capital letter ("Kitchen", "Oak table").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from embodied_collab.sim import catalog

#: First names recognised in any letter case. Names that are also household or everyday words
#: (Rose, Amber, Olive, Will, Mark, May, ...) are left out on purpose: the filter must not
#: redact "the rose cup" or "wait, may I".
FIRST_NAMES: frozenset[str] = frozenset(
    """
    aaliyah adam ahmed aisha alejandro alex alice amara amir ana andrea andreas anna arjun
    beatriz ben benjamin carlos carmen chen chloe daniel david diego dmitri elena elif emily
    emma fatima felix francesca gabriel giulia hannah hiroshi ibrahim ingrid isabel jakob james
    javier jennifer john jonas jose julia kai karim katarina kenji khalid laura lena leon liam
    lucas lucia luis maria mateo mehmet mia michael mohammed nadia naomi nikolai noah olivia
    omar oscar pablo paolo priya rahul ravi sakura samuel sara sarah sebastian sofia sophie
    stefan takeshi thomas tomas valentina victor wei xavier yara yuki yusuf zara zoe
    """.split()
)

#: Family names recognised after a first name or a title, in any case.
SURNAMES: frozenset[str] = frozenset(
    """
    abe adeyemi andersson bauer becker chen costa dubois fischer garcia gonzalez hansen
    hernandez ivanova jensen johnson kim kowalski kumar lee lopez martin meyer moreau muller
    nakamura nguyen novak okafor okonkwo patel petrov rossi santos schmidt schneider silva
    singh smith suzuki tanaka weber williams wong yilmaz zhang
    """.split()
)

TITLES = r"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Doctor|Professor|Aunt|Uncle|Grandma|Grandpa)\.?"

#: Words that are never part of a name or an address, whatever their case.
PROTECTED: frozenset[str] = frozenset(
    [w for key in catalog.ROOM_TYPES for w in key.split("_")]
    + [w for key in catalog.FURNITURE for w in key.split("_")]
    + list(catalog.OBJECTS)
    + list(catalog.COLOURS)
    + list(catalog.FURNITURE_COLOURS)
    + list(catalog.SIZES)
    + list(catalog.SKILLS)
    + """the a an and or to for from with in on at of my our your his her their please
    bring take put give fetch get go tell ask call send say then room door""".split()
)

PLACEHOLDER_RE = re.compile(r"\[(PERSON|PHONE|EMAIL|ADDRESS)_(\d+)\]")

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Digits in groups joined by spaces, dots, dashes or parentheses, optionally with a +country
# code; at least 7 digits in all so "2 cups" or "wait 10 seconds" never match.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,8}(?:[\s.-]\d{2,8}){0,4}(?!\w)"
)
_SUFFIX_ANY_CASE = (
    r"(?:street|st|road|rd|avenue|ave|lane|ln|boulevard|blvd|drive|terrace|crescent|close"
    r"|square|highway|strasse|straße|gasse|weg|allee|rue|via|calle)"
)
_SUFFIX_CAPITAL = r"(?:Place|Pl|Way|Court|Ct|Dr|Row|Gardens|Park|Hill)"
_STREET_WORD = r"(?:[A-Za-z][A-Za-z'-]*)"
_ADDRESS = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?\s+(?:" + _STREET_WORD + r"\s+){0,3}"
    r"(?:(?i:" + _SUFFIX_ANY_CASE + r")|" + _SUFFIX_CAPITAL + r")\b\.?"
    # optional flat/apartment, city and postal code
    r"(?:,?\s+(?:(?i:apt|apartment|flat|unit|suite)\.?\s*\w+))?"
    r"(?:,\s*[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)?"
    r"(?:,?\s+(?:[A-Z]{2}\s+)?\d{4,5}(?:-\d{4})?|\s+[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2})?"
)
# Continental style: "Hauptstrasse 12", "Rue de Rivoli 8" -> name+suffix first, number last.
_ADDRESS_NUM_LAST = re.compile(
    r"\b[A-Z][a-zäöüß]+(?:strasse|straße|gasse|weg|allee|platz)\s+\d{1,4}[a-z]?\b"
    r"(?:,\s*\d{4,5}\s+[A-Z][a-zäöü]+)?"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@dataclass
class Redaction:
    """Result of :meth:`PrivacyFilter.redact`.

    Attributes:
        text: the redacted text (safe to send and to log).
        mapping: placeholder -> original value (stays on the robot).
        spans: ``(start, end, kind)`` of each redacted span in the original text.
    """

    text: str
    mapping: dict[str, str] = field(default_factory=dict)
    spans: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Number of distinct redacted values per kind, e.g. ``{"PERSON": 1}``."""
        out: dict[str, int] = {}
        for ph in self.mapping:
            kind = PLACEHOLDER_RE.fullmatch(ph).group(1)  # type: ignore[union-attr]
            out[kind] = out.get(kind, 0) + 1
        return out


class PrivacyFilter:
    """Finds and replaces personal data; restores it in returned data.

    Args:
        extra_names: more first names (e.g. the household's members) to recognise.
    """

    def __init__(self, extra_names: tuple[str, ...] = ()) -> None:
        self.first_names = FIRST_NAMES | {n.lower() for n in extra_names}

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Spans ``(start, end, kind)`` of personal data in ``text``, sorted, non-overlapping."""
        spans: list[tuple[int, int, str]] = []
        for m in _EMAIL.finditer(text):
            spans.append((m.start(), m.end(), "EMAIL"))
        for rx in (_ADDRESS, _ADDRESS_NUM_LAST):
            for m in rx.finditer(text):
                if self._plausible_address(m.group(0)):
                    spans.append((m.start(), m.end(), "ADDRESS"))
        for m in _PHONE.finditer(text):
            if sum(c.isdigit() for c in m.group(0)) >= 7:
                spans.append((m.start(), m.end(), "PHONE"))
        spans.extend(self._names(text))
        return _merge(spans)

    def _plausible_address(self, s: str) -> bool:
        words = [w.lower() for w in _WORD.findall(s)]
        # "2 red cups on table road"-like accidents: a household word right before the suffix
        return len(words) >= 2 and not any(w in PROTECTED for w in words[:-1][:1])

    def _names(self, text: str) -> list[tuple[int, int, str]]:
        spans = []
        words = [
            (m.start(), m.start() + len(_bare(m.group(0))), _bare(m.group(0)))
            for m in _WORD.finditer(text)
        ]
        i = 0
        while i < len(words):
            start, end, word = words[i]
            low = word.lower()
            nxt = words[i + 1] if i + 1 < len(words) else None
            adjacent = nxt is not None and text[end : nxt[0]] in (" ", ". ")
            found = None
            if low in self.first_names:
                found = (start, end)
                if adjacent and text[end : nxt[0]] == " " and self._surname_like(nxt[2]):
                    found = (start, nxt[1])
                    i += 1
            elif (
                re.fullmatch(TITLES, word, re.IGNORECASE)
                and adjacent
                and nxt[2].lower() not in PROTECTED
                and (nxt[2][0].isupper() or nxt[2].lower() in SURNAMES)
            ):
                found = (start, nxt[1])
                i += 1
            elif low in SURNAMES and word[0].isupper():
                found = (start, end)
            if found is not None:
                spans.append((found[0], found[1], "PERSON"))
            i += 1
        return spans

    @staticmethod
    def _surname_like(word: str) -> bool:
        low = word.lower()
        if low in PROTECTED:
            return False
        return low in SURNAMES or (word[0].isupper() and low not in FIRST_NAMES and len(word) > 1)

    def redact(self, text: str) -> Redaction:
        """Replace personal data in ``text`` by numbered placeholders (same value, same one)."""
        spans = self.find(text)
        mapping: dict[str, str] = {}
        by_value: dict[tuple[str, str], str] = {}
        counters: dict[str, int] = {}
        out = []
        pos = 0
        for start, end, kind in spans:
            value = text[start:end]
            key = (kind, value.lower())
            if key not in by_value:
                counters[kind] = counters.get(kind, 0) + 1
                ph = f"[{kind}_{counters[kind]}]"
                by_value[key] = ph
                mapping[ph] = value
            out.append(text[pos:start])
            out.append(by_value[key])
            pos = end
        out.append(text[pos:])
        return Redaction(text="".join(out), mapping=mapping, spans=spans)

    @staticmethod
    def restore(data: Any, mapping: dict[str, str]) -> Any:
        """``data`` (str, list, dict, nested) with every known placeholder put back."""
        if not mapping:
            return data
        if isinstance(data, str):
            return PLACEHOLDER_RE.sub(lambda m: mapping.get(m.group(0), m.group(0)), data)
        if isinstance(data, list):
            return [PrivacyFilter.restore(x, mapping) for x in data]
        if isinstance(data, dict):
            return {k: PrivacyFilter.restore(v, mapping) for k, v in data.items()}
        return data


def _bare(word: str) -> str:
    """A word without a trailing possessive ("Anna's" -> "Anna")."""
    return word[:-2] if word.lower().endswith("'s") else word


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Sort spans and drop those overlapping an earlier, longer one (e-mail beats name)."""
    priority = {"EMAIL": 0, "ADDRESS": 1, "PHONE": 2, "PERSON": 3}
    chosen: list[tuple[int, int, str]] = []
    for s in sorted(spans, key=lambda s: (priority[s[2]], -(s[1] - s[0]), s[0])):
        if all(s[1] <= c[0] or s[0] >= c[1] for c in chosen):
            chosen.append(s)
    return sorted(chosen)
