"""Loading component config dataclasses from YAML/dicts, shared by the CLI and the ROS nodes.

Every component has one ``@dataclass(kw_only=True)`` config whose ``__post_init__`` validates
its fields and raises ``ValueError`` naming the bad value. This module turns files and dicts into
those dataclasses (refusing unknown keys) and back, so validation lives in one place.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from embodied_collab.errors import InvalidFileError

T = TypeVar("T")


def config_fields(cls: type) -> dict[str, dataclasses.Field]:
    """The init fields of a config dataclass, by name."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def field_type(cls: type, name: str) -> Any:
    """The resolved type annotation of field ``name`` of ``cls``."""
    hints = typing.get_type_hints(cls)
    return hints[name]


def _coerce(value: Any, tp: Any, name: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], name) if len(args) == 1 else value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value


def config_from_dict(cls: type[T], data: dict[str, Any] | None, *, source: str = "<dict>") -> T:
    """Build ``cls`` from ``data``; unknown keys and invalid values raise ``InvalidFileError``."""
    data = dict(data or {})
    known = config_fields(cls)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InvalidFileError(
            f"unknown config key(s) {unknown} for {cls.__name__}; known: {sorted(known)}",
            path=source,
            json_path=f"$.{unknown[0]}",
        )
    kwargs = {k: _coerce(v, field_type(cls, k), k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InvalidFileError(str(exc), path=source) from exc


def load_config(cls: type[T], path: str | Path | None, section: str | None = None) -> T:
    """Load ``cls`` from a YAML file (optionally one top-level ``section``); None -> defaults."""
    if path is None:
        return cls()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as exc:
        raise InvalidFileError("file not found", path=str(path)) from exc
    except yaml.YAMLError as exc:
        raise InvalidFileError(f"not valid YAML: {exc}", path=str(path)) from exc
    if section is not None:
        data = data.get(section, {})
        if isinstance(data, dict) and "ros__parameters" in data:
            data = data["ros__parameters"]
    if not isinstance(data, dict):
        raise InvalidFileError("expected a mapping of config keys", path=str(path))
    return config_from_dict(cls, data, source=str(path))


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain-dict view of a config dataclass (tuples become lists, for YAML/JSON/ROS)."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out
