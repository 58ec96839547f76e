"""Choosing among the decoder's n-best transcripts with what the world and the grammar know
(pure logic, no model).

The decoder's best transcript is often not the best command: on noisy or synthetic voices its
first and second hypotheses differ by a few hundredths of a nat per token, and the second one
is sometimes the one that makes sense ("place the purple apple *on the* office cabinet" below
"... *under* office cabinet", "take the *white* book" below "take the *right* book"). Two
things are taken from the other hypotheses:

- :func:`borrow_known_words`: a word of the chosen transcript that the world does not know is
  replaced by the known words another hypothesis heard in its place ("the hiding room" ->
  "the dining room" when a second hypothesis heard that), before fuzzy spelling correction
  guesses.
- :func:`intent_quality`: among hypotheses whose decoder score is within a small margin of the
  best, the one whose intent is actionable and fills more of the command's slots is taken, if
  it :func:`may_replace` the best one (about as long, and keeping every slot it fills).
"""

from __future__ import annotations

import difflib
from typing import Any

from embodied_collab.speech.vocabulary import FUNCTION_WORDS


def borrow_known_words(words: list[str], others: list[list[str]],
                       known: set[str] | frozenset[str]) -> list[str]:
    """``words`` with the words the world does not know replaced by what another hypothesis
    (``others``, in order of preference) has in the same place: word for word where the two
    differ in as many words (a known word is never replaced: "large wall on the fridge" takes
    "ball" from "large ball and the fridge" but keeps its "on"), or a run of unknown words
    replaced whole by known words naming something (not only function words) at most one word
    longer or shorter. Words that no hypothesis heard as known words stay as they are.

    >>> borrow_known_words("carry the marks to the hiding room".split(),
    ...                    ["carry the marks to the dining room".split()], {"carry", "the",
    ...                    "to", "dining", "room"})
    ['carry', 'the', 'marks', 'to', 'the', 'dining', 'room']
    """
    out = list(words)
    for alt in others:
        if not any(w not in known for w in out):
            break
        merged: list[str] = []
        ops = difflib.SequenceMatcher(None, out, alt, autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in ops:
            seg, rep = out[i1:i2], alt[j1:j2]
            if tag != "replace" or not any(w not in known for w in seg):
                merged += seg
            elif len(seg) == len(rep):  # word for word: only unknown words are replaced
                merged += [r if w not in known and r in known and r not in FUNCTION_WORDS
                           else w for w, r in zip(seg, rep, strict=True)]
            elif all(w not in known for w in seg) and all(w in known for w in rep) and \
                    any(w not in FUNCTION_WORDS for w in rep) and abs(len(seg) - len(rep)) <= 1:
                merged += rep
            else:
                merged += seg
        out = merged
    return out


def may_replace(alt_words: list[str], alt: Any, top_words: list[str], top: Any,
                max_extra_words: int = 2) -> bool:
    """Whether a lower-ranked hypothesis (``alt_words``, intent ``alt``) may be preferred to
    the best one for a more complete intent: about as long (a hypothesis that repeats itself,
    "... in the bedroom put the purple cup on the bookshelf", is no better reading), and, when
    the best one's intent is actionable, filling every slot that one fills ("put the large
    *bed* cup on the bed" reads the bed as a source but loses the colour: not better). The
    same letters spaced differently ("some where" for "somewhere") are the same sounds, so
    they give no reason to prefer the lower-ranked one."""
    if abs(len(alt_words) - len(top_words)) > max_extra_words or \
            "".join(alt_words) == "".join(top_words):
        return False  # much longer or shorter, or the same letters spaced differently
    if intent_quality(top)[0]:
        return set(top.slots) <= set(alt.slots)
    return True


def intent_quality(intent: Any) -> tuple[bool, int, float]:
    """How complete an intent is, to compare the readings of one utterance: actionable (a
    task that does not ask back, or a stop/cancel), then the number of slots it fills (object,
    colour, size, source, target and their rooms), then its confidence."""
    actionable = intent.kind != "unknown" and intent.ask_back is None
    return (actionable, len(intent.slots), round(float(intent.confidence), 3))
