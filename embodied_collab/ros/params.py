"""Mirror a component's config dataclass as validated ROS 2 parameters.

Every node declares one parameter per config field (:class:`ParameterMirror`), builds the
config dataclass from the values (so validation lives in the dataclass's ``__post_init__``), and
refuses runtime updates that the dataclass rejects: ``ros2 param set /sim rate_factor -1`` gets
``successful=False`` with the dataclass's ``ValueError`` message as the reason.
"""

from __future__ import annotations

import logging
import re
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from embodied_collab.config import config_fields, field_type

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SCALARS = {bool: "PARAMETER_BOOL", int: "PARAMETER_INTEGER", float: "PARAMETER_DOUBLE",
            str: "PARAMETER_STRING"}
_ARRAYS = {bool: "PARAMETER_BOOL_ARRAY", int: "PARAMETER_INTEGER_ARRAY",
           float: "PARAMETER_DOUBLE_ARRAY", str: "PARAMETER_STRING_ARRAY"}


def parameter_type_name(tp: Any) -> tuple[str, bool]:
    """``(ParameterType constant name, optional)`` for a config field annotation.

    Supported: ``bool``, ``int``, ``float``, ``str``, ``tuple[X, ...]`` / ``list[X]`` of those,
    and ``X | None`` of all of them (``None`` is the unset parameter; for ``str | None`` the
    empty string also means ``None``).

    Raises:
        TypeError: for any other annotation.
    """
    optional = False
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union type for a ROS parameter: {tp!r}")
        tp, optional = args[0], True
        origin = typing.get_origin(tp)
    if tp in _SCALARS:
        return _SCALARS[tp], optional
    if origin in (tuple, list):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if args and all(a == args[0] for a in args) and args[0] in _ARRAYS:
            return _ARRAYS[args[0]], optional
    raise TypeError(f"unsupported config field type for a ROS parameter: {tp!r}")


def attribute_docs(cls: type) -> dict[str, str]:
    """Field descriptions from the ``Attributes:`` section of ``cls``'s Google-style docstring."""
    doc = cls.__doc__ or ""
    _, found, rest = doc.partition("Attributes:")
    if not found:
        return {}
    out: dict[str, str] = {}
    current = None
    for line in rest.splitlines():
        match = re.match(r"^\s{4,8}(\w+):\s*(.*)$", line)
        if match and match.group(1) in {f.name for f in _fields_of(cls)}:
            current = match.group(1)
            out[current] = match.group(2).strip()
        elif current and line.strip():
            out[current] += " " + line.strip()
        elif not line.strip() and current:
            current = None
    return out


def _fields_of(cls: type) -> list[Any]:
    import dataclasses

    return list(dataclasses.fields(cls))


def _to_ros(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


def _from_ros(value: Any, type_name: str, optional: bool) -> Any:
    if value is None:
        return None
    if optional and type_name == "PARAMETER_STRING" and value == "":
        return None
    if type_name.endswith("_ARRAY"):
        return tuple(value)
    return value


class ParameterMirror(Generic[T]):
    """Declares ``config_cls``'s fields as parameters of ``node`` and keeps a validated config.

    Args:
        node: the rclpy node.
        config_cls: a ``@dataclass(kw_only=True)`` config whose fields all have defaults.
        read_only: fields that cannot change after start-up (declared read-only).
        descriptions: per-field descriptions shown by ``ros2 param describe``.
        on_change: called with the new config after an accepted runtime update.

    Raises:
        ValueError: if the initial values (defaults + parameter files + overrides) do not
            validate; the message is the dataclass's.
        TypeError: if a field's type cannot be a ROS parameter.
    """

    def __init__(
        self,
        node: Any,
        config_cls: type[T],
        *,
        read_only: Iterable[str] = (),
        descriptions: dict[str, str] | None = None,
        on_change: Callable[[T], None] | None = None,
    ) -> None:
        from rcl_interfaces.msg import ParameterDescriptor, ParameterType
        from rclpy.exceptions import InvalidParameterTypeException

        self._node = node
        self._cls = config_cls
        self._on_change = on_change
        self._fields = config_fields(config_cls)
        read_only = set(read_only)
        unknown = read_only - set(self._fields)
        if unknown:
            raise ValueError(f"read_only names unknown field(s) {sorted(unknown)}")
        defaults = config_cls()
        descriptions = {**attribute_docs(config_cls), **(descriptions or {})}
        self._types: dict[str, tuple[str, bool]] = {}
        values: dict[str, Any] = {}
        for name in self._fields:
            type_name, optional = parameter_type_name(field_type(config_cls, name))
            self._types[name] = (type_name, optional)
            default = getattr(defaults, name)
            if optional and type_name == "PARAMETER_STRING" and default is None:
                default = ""
            descriptor = ParameterDescriptor(
                name=name,
                type=getattr(ParameterType, type_name),
                description=descriptions.get(name, ""),
                read_only=name in read_only,
                dynamic_typing=optional and default is None,
            )
            try:
                param = node.declare_parameter(name, _to_ros(default), descriptor)
            except InvalidParameterTypeException as exc:
                raise ValueError(
                    f"parameter {name!r} of {config_cls.__name__} must be of type "
                    f"{type_name.removeprefix('PARAMETER_').lower()}: {exc}"
                ) from exc
            values[name] = _from_ros(param.value, type_name, optional)
        self._config = self._build(values)
        node.add_on_set_parameters_callback(self._validate)
        node.add_post_set_parameters_callback(self._apply)

    @property
    def config(self) -> T:
        """The current validated config."""
        return self._config

    def _build(self, values: dict[str, Any]) -> T:
        try:
            return self._cls(**values)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    def _candidate(self, parameters: list[Any]) -> T | None:
        mine = [p for p in parameters if p.name in self._fields]
        if not mine:
            return None
        values = {name: getattr(self._config, name) for name in self._fields}
        for p in mine:
            type_name, optional = self._types[p.name]
            values[p.name] = _from_ros(p.value, type_name, optional)
        return self._build(values)

    def _validate(self, parameters: list[Any]) -> Any:
        from rcl_interfaces.msg import SetParametersResult

        try:
            self._candidate(parameters)
        except ValueError as exc:
            names = ", ".join(p.name for p in parameters)
            logger.info("refused parameter update (%s): %s", names, exc)
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _apply(self, parameters: list[Any]) -> None:
        candidate = self._candidate(parameters)
        if candidate is None:
            return
        self._config = candidate
        if self._on_change is not None:
            self._on_change(candidate)


def declare_config(node: Any, config_cls: type[T], **kwargs: Any) -> ParameterMirror[T]:
    """Shorthand for :class:`ParameterMirror`: ``declare_config(self, SimNodeConfig)``."""
    return ParameterMirror(node, config_cls, **kwargs)
