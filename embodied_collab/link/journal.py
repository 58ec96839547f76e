"""Durable command journal (SQLite in WAL mode, synchronous=FULL): every accepted command and
each of its state transitions with a reason, so that after a crash or restart the executive can
resume or explicitly fail every unfinished command; plus an outbox of records made offline,
synced up when the link returns.

States: accepted -> [queued ->] planning -> executing -> done | failed | cancelled. ``queued``
means "waiting for the cloud" (a task beyond local skills during an outage); ``executing ->
planning`` is a re-plan (e.g. a local plan refined by the cloud after the link returns).
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embodied_collab.errors import InvalidFileError, InvalidInputError

logger = logging.getLogger(__name__)


class CommandState(str, enum.Enum):
    """Life cycle of an accepted command."""

    ACCEPTED = "accepted"
    QUEUED = "queued"
    PLANNING = "planning"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether no transition leaves this state."""
        return self in TERMINAL


S = CommandState
TERMINAL = frozenset({S.DONE, S.FAILED, S.CANCELLED})
#: Legal transitions; failing or cancelling is allowed from every non-terminal state.
TRANSITIONS: dict[CommandState, frozenset[CommandState]] = {
    S.ACCEPTED: frozenset({S.QUEUED, S.PLANNING, S.FAILED, S.CANCELLED}),
    S.QUEUED: frozenset({S.PLANNING, S.FAILED, S.CANCELLED}),
    S.PLANNING: frozenset({S.QUEUED, S.PLANNING, S.EXECUTING, S.FAILED, S.CANCELLED}),
    S.EXECUTING: frozenset({S.QUEUED, S.PLANNING, S.DONE, S.FAILED, S.CANCELLED}),
    S.DONE: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id TEXT NOT NULL REFERENCES commands(id),
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_by_command ON transitions(command_id, seq);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    command_id TEXT,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    synced_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(synced_at, seq);
"""


@dataclass(frozen=True)
class CommandRecord:
    """One command as stored."""

    id: str
    text: str
    state: CommandState
    reason: str
    payload: dict[str, Any]
    created_at: float
    updated_at: float

    @property
    def terminal(self) -> bool:
        """Whether the command has ended (done, failed or cancelled)."""
        return self.state.terminal


@dataclass(frozen=True)
class Transition:
    """One state change of a command."""

    seq: int
    command_id: str
    from_state: CommandState | None
    to_state: CommandState
    reason: str
    at: float


@dataclass(frozen=True)
class OutboxRecord:
    """Something recorded while offline, waiting to be synced up."""

    seq: int
    kind: str
    command_id: str | None
    payload: dict[str, Any]
    created_at: float


class Journal:
    """The durable journal. Thread-safe; one instance per process owns the file.

    Args:
        path: the SQLite file (created with its directory if missing).
        wall: wall-clock source (seconds since the epoch) for timestamps.
    """

    def __init__(self, path: str | Path, wall: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.wall = wall
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                str(self.path), timeout=5.0, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InvalidFileError(f"not a usable journal: {exc}", path=str(self.path)) from exc

    # -- commands ------------------------------------------------------------------------------
    def accept(
        self,
        text: str,
        *,
        command_id: str | None = None,
        payload: dict[str, Any] | None = None,
        reason: str = "accepted",
    ) -> CommandRecord:
        """Record a newly accepted command (durable when this returns).

        Accepting an id that is already journaled returns the stored record unchanged, so a
        re-sent command is not run twice.

        Raises:
            InvalidInputError: empty text, or a payload that is not JSON-serialisable.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError(f"command text must be a non-empty string, got {text!r}")
        command_id = command_id or "cmd-" + uuid.uuid4().hex[:12]
        try:
            blob = json.dumps(payload or {})
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"command payload is not JSON-serialisable: {exc}") from exc
        now = self.wall()
        with self._lock:
            existing = self.get(command_id)
            if existing is not None:
                return existing
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO commands VALUES (?,?,?,?,?,?,?)",
                    (command_id, text, S.ACCEPTED.value, reason, blob, now, now),
                )
                self._db.execute(
                    "INSERT INTO transitions(command_id, from_state, to_state, reason, at) "
                    "VALUES (?,?,?,?,?)",
                    (command_id, None, S.ACCEPTED.value, reason, now),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        logger.info("journal: %s accepted", command_id, extra={"command_id": command_id})
        rec = self.get(command_id)
        assert rec is not None
        return rec

    def transition(
        self, command_id: str, state: CommandState | str, reason: str
    ) -> CommandRecord:
        """Move a command to ``state`` with a reason (durable when this returns).

        Raises:
            InvalidInputError: unknown id, unknown state, empty reason, or a transition the
                life cycle does not allow (e.g. out of a terminal state).
        """
        try:
            new = CommandState(state)
        except ValueError as exc:
            raise InvalidInputError(f"unknown command state {state!r}") from exc
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInputError(f"a transition needs a reason, got {reason!r}")
        now = self.wall()
        with self._lock:
            rec = self.get(command_id)
            if rec is None:
                raise InvalidInputError(f"unknown command id {command_id!r}")
            if new not in TRANSITIONS[rec.state]:
                raise InvalidInputError(
                    f"command {command_id}: illegal transition {rec.state.value} -> {new.value}"
                )
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "UPDATE commands SET state=?, reason=?, updated_at=? WHERE id=?",
                    (new.value, reason, now, command_id),
                )
                self._db.execute(
                    "INSERT INTO transitions(command_id, from_state, to_state, reason, at) "
                    "VALUES (?,?,?,?,?)",
                    (command_id, rec.state.value, new.value, reason, now),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        logger.info(
            "journal: %s %s -> %s (%s)", command_id, rec.state.value, new.value, reason,
            extra={"command_id": command_id, "event": "transition", "state": new.value},
        )
        return CommandRecord(
            rec.id, rec.text, new, reason, rec.payload, rec.created_at, now
        )

    def get(self, command_id: str) -> CommandRecord | None:
        """The stored command, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM commands WHERE id=?", (command_id,)).fetchone()
        return None if row is None else _record(row)

    def commands(self, state: CommandState | str | None = None) -> list[CommandRecord]:
        """All commands (or those in ``state``), oldest first."""
        with self._lock:
            if state is None:
                rows = self._db.execute("SELECT * FROM commands ORDER BY created_at, rowid")
            else:
                rows = self._db.execute(
                    "SELECT * FROM commands WHERE state=? ORDER BY created_at, rowid",
                    (CommandState(state).value,),
                )
            return [_record(r) for r in rows.fetchall()]

    def unfinished(self) -> list[CommandRecord]:
        """Commands not in a terminal state, oldest first (what recovery must handle)."""
        return [r for r in self.commands() if not r.terminal]

    def history(self, command_id: str) -> list[Transition]:
        """Every transition of a command, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, command_id, from_state, to_state, reason, at FROM transitions "
                "WHERE command_id=? ORDER BY seq",
                (command_id,),
            ).fetchall()
        return [
            Transition(
                r[0], r[1], CommandState(r[2]) if r[2] else None, CommandState(r[3]), r[4], r[5]
            )
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        """Number of commands per state (every state listed)."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM commands GROUP BY state")
            found = dict(rows.fetchall())
        return {s.value: int(found.get(s.value, 0)) for s in CommandState}

    def recover(
        self,
        resume: Callable[[CommandRecord], bool] | None = None,
        reason: str = "not resumed after restart",
    ) -> tuple[list[CommandRecord], list[CommandRecord]]:
        """Handle every unfinished command after a restart.

        Args:
            resume: called per unfinished command; True means the caller resumes it (it stays
                as it is), False (or no callback) fails it explicitly.
            reason: the failure reason (the previous state is appended).

        Returns:
            (resumed, failed) records.
        """
        resumed, failed = [], []
        for rec in self.unfinished():
            ok = False
            if resume is not None:
                try:
                    ok = bool(resume(rec))
                except Exception as exc:  # a broken resume fails the command, with the cause
                    logger.exception("resume of %s failed", rec.id)
                    failed.append(self.transition(rec.id, S.FAILED, f"{reason}: {exc}"))
                    continue
            if ok:
                resumed.append(rec)
            else:
                failed.append(
                    self.transition(rec.id, S.FAILED, f"{reason} (was {rec.state.value})")
                )
        return resumed, failed

    # -- outbox --------------------------------------------------------------------------------
    def outbox_add(self, kind: str, payload: dict[str, Any], command_id: str | None = None) -> int:
        """Record something to sync up later; returns its sequence number."""
        if not kind:
            raise InvalidInputError("outbox record needs a kind")
        try:
            blob = json.dumps(payload)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"outbox payload is not JSON-serialisable: {exc}") from exc
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO outbox(kind, command_id, payload, created_at) VALUES (?,?,?,?)",
                (kind, command_id, blob, self.wall()),
            )
            return int(cur.lastrowid)

    def outbox_pending(self, limit: int = 1000) -> list[OutboxRecord]:
        """Records not yet synced, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, command_id, payload, created_at FROM outbox "
                "WHERE synced_at IS NULL ORDER BY seq LIMIT ?",
                (int(limit),),
            ).fetchall()
        return [OutboxRecord(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def outbox_mark_synced(self, seqs: list[int]) -> None:
        """Mark records as synced."""
        with self._lock:
            self._db.executemany(
                "UPDATE outbox SET synced_at=? WHERE seq=?", [(self.wall(), s) for s in seqs]
            )

    def sync_outbox(self, send: Callable[[list[OutboxRecord]], None], batch: int = 50) -> int:
        """Send pending records in batches with ``send``; stop at the first failure.

        A batch is marked synced only after ``send`` returns, so a failure loses nothing (a
        batch may be sent twice: receivers dedupe on ``seq``). Bounded: at most the records
        pending when the call began.

        Returns:
            How many records were synced.
        """
        todo = self.outbox_pending(limit=1_000_000)
        synced = 0
        for i in range(0, len(todo), batch):
            chunk = todo[i : i + batch]
            try:
                send(chunk)
            except Exception as exc:
                logger.warning("outbox sync stopped after %d records: %s", synced, exc)
                break
            self.outbox_mark_synced([r.seq for r in chunk])
            synced += len(chunk)
        return synced

    def close(self) -> None:
        """Close the database (checkpointing the WAL)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _record(row: tuple) -> CommandRecord:
    return CommandRecord(
        id=row[0],
        text=row[1],
        state=CommandState(row[2]),
        reason=row[3],
        payload=json.loads(row[4]),
        created_at=row[5],
        updated_at=row[6],
    )
