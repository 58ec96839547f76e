"""Per-world GBNF grammar and JSON schema of the compact plan format.

The compact format is ``{"steps":[["navigate","table_1"],["pick","cup_2"],...]}``: one
``[skill, argument]`` pair per step (every skill takes exactly one argument). For a llama.cpp
server, :func:`plan_grammar` constrains decoding to that format with only the allow-listed
skills and, as their arguments, only this world's ids of the right kind (or an object
description built from the catalog's words), so an unknown id or skill cannot be emitted at
all. A flat alternation over a few dozen ids keeps grammar sampling cheap. The validator still
checks every plan afterwards (servers without grammars get :func:`compact_schema`).
"""

from __future__ import annotations

from typing import Any

from embodied_collab.cloud.prompt import _words
from embodied_collab.cloud.validate import destination_mention, instruction_kind
from embodied_collab.sim import catalog
from embodied_collab.sim.world import World

#: Longest sentence a ``say`` step may carry in the grammar (characters).
SAY_MAX_CHARS = 120


def _lit(text: str) -> str:
    """A GBNF string literal (ids and catalog words only hold [a-z0-9_ ])."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _alt(options: list[str]) -> str:
    return " | ".join(_lit(o) for o in dict.fromkeys(options)) if options else '"-"'


def _step(skill: str, arg_rule: str, *, quoted: bool = True) -> str:
    q = '"\\""' if quoted else ""
    head = _lit(f'["{skill}",')
    return f'{head} {q} {arg_rule} {q} "]"'.replace("  ", " ")


def _named(vocab: dict, words: set[str]) -> list[str]:
    """The words of ``vocab`` the instruction uses (all of them when it uses none)."""
    return [w for w in vocab if w in words] or list(vocab)


def plan_grammar(
    world: World, instruction: str | None = None, skills: list[str] | None = None
) -> str:
    """GBNF grammar of compact plans over ``world``'s ids.

    Args:
        world: the known world; navigate takes rooms and furniture, open takes containers,
            place takes furniture one can put things on or in, pick takes visible objects or a
            description, search takes a description.
        instruction: when given, furniture and objects are limited to those the prompt lists
            for it (:func:`embodied_collab.cloud.prompt.relevant`: the kinds it names, all
            furniture when it names none); rooms stay navigable. A destination named with its
            room ("on the table in the dining room") is the only place ``place`` may take.
        skills: the allow-list (default: every skill of :data:`catalog.SKILLS`).

    Returns:
        The grammar text (root rule ``root``), for the ``grammar`` field of a llama.cpp
        server's chat-completions request.
    """
    from embodied_collab.cloud.prompt import relevant

    skills = list(skills or catalog.SKILLS)
    furniture, objects = relevant(world, instruction)
    if instruction is None:
        objects = world.visible_objects()
    furn = [f.id for f in furniture]
    places = [f.id for f in furniture if f.surface or f.container]
    dest = destination_mention(instruction, world) if instruction is not None else None
    if dest is not None and dest.room is not None:
        # "put it on the table in the dining room": only that table can take the object
        places = [p for p in places if p in dest.candidates] or places
    rules = {
        "navigate": ("place-id", [r.id for r in world.rooms] + furn),
        "open": ("container-id", [f.id for f in furniture if f.container]),
        "place": ("furniture-id", places),
        "pick": ("pick-arg", None),
        "search": ("desc", None),
        "say": ("sentence", None),
        "wait": ("seconds", None),
    }
    unknown = [s for s in skills if s not in rules]
    if unknown:
        raise ValueError(f"no grammar for skill(s) {unknown}")
    kind = instruction_kind(instruction) if instruction is not None else None
    if kind is not None and {"navigate", "pick", "place"} <= set(skills):
        # the plan's shape follows the instruction's verbs (what check_complete demands
        # anyway); the model still chooses every id
        get = '(navigate-step ",")? pick-step'
        if "search" in skills:
            get = f'({get} | search-step "," pick-step)'
        # re-planning while already holding the object: only the delivery is left
        body = "" if kind == "deliver" and world.robot.holding is not None else get
        if kind == "deliver":
            put = 'navigate-step "," ' + ('(open-step ",")? ' if "open" in skills else "")
            body += (' "," ' if body else "") + put + "place-step"
        if "say" in skills and {"tell", "say", "let"} & _words(instruction):
            body += ' ("," say-step)?'
        lines = ['root ::= "{\\"steps\\":[" ' + body + ' "]}"']
    else:
        lines = [
            'root ::= "{\\"steps\\":[" step ("," step)* "]}"',
            "step ::= " + " | ".join(f"{s}-step" for s in skills),
        ]
    for s in skills:
        rule, _ = rules[s]
        lines.append(f"{s}-step ::= " + _step(s, rule, quoted=(s != "wait")))
    for s in skills:
        rule, ids = rules[s]
        if ids is not None:
            lines.append(f"{rule} ::= {_alt(ids)}")
    objs = [o.id for o in objects]
    words = _words(instruction) if instruction is not None else set()

    def opt(rule: str, vocab: dict) -> str:
        return f'{rule} " " ' if words & set(vocab) else f'({rule} " ")? '

    lines += [
        "pick-arg ::= " + (f"{_alt(objs)} | desc" if objs else "desc"),
        # sizes and colours the instruction names are part of the description
        "desc ::= " + opt("size", catalog.SIZES) + opt("colour", catalog.COLOURS) + "category",
        f"size ::= {_alt(_named(catalog.SIZES, words))}",
        f"colour ::= {_alt(_named(catalog.COLOURS, words))}",
        f"category ::= {_alt(_named(catalog.OBJECTS, words))}",
        # printable characters without quote or backslash; length bounded by max_tokens
        "sentence ::= [A-Za-z0-9 ,.!?'()_-] [A-Za-z0-9 ,.!?'()_\\[\\]-]*",
        "seconds ::= [1-9] [0-9]? [0-9]?",
    ]
    return "\n".join(lines) + "\n"


def compact_schema(skills: list[str] | None = None) -> dict[str, Any]:
    """JSON schema of the compact format, for servers without GBNF grammars.

    Each step is a two-item array ``[skill, argument]``; the skill is an enum of the
    allow-list (servers that constrain decoding by schema then cannot emit another skill).
    """
    skills = list(skills or catalog.SKILLS)
    return {
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [
                        {"type": "string", "enum": skills},
                        {"type": ["string", "number"]},
                    ],
                    "items": False,
                },
            }
        },
        "required": ["steps"],
    }
