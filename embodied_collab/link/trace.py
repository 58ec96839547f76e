"""Command traceability: a command id carried in a context variable and stamped on every log
record, JSON-lines logs, and a helper that pulls one command's whole path out of a log file.

Usage::

    configure_json_logging("run.jsonl")
    with command_context(cmd_id):
        logger.info("routing", extra={"event": "route", "target": "cloud"})
    extract_trace("run.jsonl", cmd_id)   # every record of that command, in order

Worker threads do not inherit context variables: start them through
``contextvars.copy_context().run`` (as :class:`~embodied_collab.link.resilient.ResilientCloud`
does) or enter :func:`command_context` again.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from embodied_collab.errors import InvalidFileError

_COMMAND_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "embodied_collab_command_id", default=None
)

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "command_id",
    "taskName",
}


def new_command_id() -> str:
    """A fresh, unique command id (``cmd-`` + 12 hex digits)."""
    return "cmd-" + uuid.uuid4().hex[:12]


def current_command_id() -> str | None:
    """The command id of the current context, if any."""
    return _COMMAND_ID.get()


@contextlib.contextmanager
def command_context(command_id: str | None) -> Iterator[str | None]:
    """Make ``command_id`` the current command for the ``with`` block (nesting restores)."""
    token = _COMMAND_ID.set(command_id)
    try:
        yield command_id
    finally:
        _COMMAND_ID.reset(token)


class CommandIdFilter(logging.Filter):
    """Stamp ``record.command_id`` from the context unless the record already has one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "command_id", None) is None:
            record.command_id = _COMMAND_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, component, command_id, msg, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        parts = record.name.split(".")
        component = parts[1] if len(parts) > 1 and parts[0] == "embodied_collab" else parts[0]
        obj = {
            "ts": round(record.created, 6),
            "level": record.levelname,
            "logger": record.name,
            "component": component,
            "command_id": getattr(record, "command_id", None) or _COMMAND_ID.get(),
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                obj[key] = value
        if record.exc_info:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, default=str)


def configure_json_logging(
    target: str | Path | IO[str],
    level: int = logging.INFO,
    logger_name: str = "embodied_collab",
) -> logging.Handler:
    """Send ``logger_name``'s records as JSON lines to a file path or stream.

    Returns:
        The handler (remove it with ``logging.getLogger(logger_name).removeHandler(h)``).
    """
    if isinstance(target, (str, Path)):
        handler: logging.Handler = logging.FileHandler(target, encoding="utf-8")
    else:
        handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CommandIdFilter())
    handler.setLevel(level)
    log = logging.getLogger(logger_name)
    log.addHandler(handler)
    if log.getEffectiveLevel() > level or log.level == logging.NOTSET:
        log.setLevel(level)
    return handler


def read_records(path: str | Path) -> list[dict]:
    """All JSON records of a JSON-lines log; a line that is not JSON raises InvalidFileError."""
    out = []
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise InvalidFileError("log file not found", path=str(path)) from exc
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidFileError(f"line {i + 1} is not JSON: {exc}", path=str(path)) from exc
    return out


def extract_trace(path: str | Path, command_id: str) -> list[dict]:
    """Every record of ``command_id`` in a JSON-lines log, in time order."""
    records = [r for r in read_records(path) if r.get("command_id") == command_id]
    return sorted(records, key=lambda r: r.get("ts", 0.0))
