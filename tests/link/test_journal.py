"""The durable journal: life cycle, recovery after a real crash (a writer process killed with
SIGKILL mid-write on a real SQLite file), and the offline outbox."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from embodied_collab.errors import InvalidFileError, InvalidInputError
from embodied_collab.link.journal import CommandState, Journal

S = CommandState


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    yield j
    j.close()


def test_life_cycle_with_reasons(journal):
    rec = journal.accept("bring the red cup", payload={"source": "speech"})
    assert rec.state == S.ACCEPTED
    journal.transition(rec.id, S.PLANNING, "routed to cloud")
    journal.transition(rec.id, S.EXECUTING, "plan of 4 steps")
    done = journal.transition(rec.id, "done", "cup delivered")
    assert done.terminal
    hist = journal.history(rec.id)
    assert [(h.from_state, h.to_state) for h in hist] == [
        (None, S.ACCEPTED), (S.ACCEPTED, S.PLANNING), (S.PLANNING, S.EXECUTING),
        (S.EXECUTING, S.DONE),
    ]
    assert hist[-1].reason == "cup delivered"
    assert journal.get(rec.id).payload == {"source": "speech"}
    assert journal.counts()["done"] == 1


def test_illegal_transitions_and_bad_input(journal):
    rec = journal.accept("go to the kitchen")
    with pytest.raises(InvalidInputError, match="illegal transition accepted -> done"):
        journal.transition(rec.id, S.DONE, "skipped")
    journal.transition(rec.id, S.CANCELLED, "user said stop")
    with pytest.raises(InvalidInputError, match="illegal transition cancelled -> planning"):
        journal.transition(rec.id, S.PLANNING, "again")
    with pytest.raises(InvalidInputError, match="unknown command id"):
        journal.transition("nope", S.PLANNING, "x")
    with pytest.raises(InvalidInputError, match="needs a reason"):
        journal.transition(journal.accept("x").id, S.PLANNING, " ")
    with pytest.raises(InvalidInputError, match="unknown command state"):
        journal.transition(rec.id, "flying", "x")
    with pytest.raises(InvalidInputError, match="non-empty"):
        journal.accept("  ")
    with pytest.raises(InvalidInputError, match="JSON"):
        journal.accept("x", payload={"f": object()})


def test_accept_is_idempotent_per_id(journal):
    a = journal.accept("bring the cup", command_id="cmd-1")
    journal.transition("cmd-1", S.PLANNING, "routing")
    b = journal.accept("bring the cup", command_id="cmd-1")
    assert b.id == a.id and b.state == S.PLANNING
    assert len(journal.commands()) == 1


def test_queued_and_replan_paths(journal):
    rec = journal.accept("find my keys")
    journal.transition(rec.id, S.QUEUED, "cloud unreachable; search needs the cloud")
    journal.transition(rec.id, S.PLANNING, "link returned")
    journal.transition(rec.id, S.EXECUTING, "local plan")
    journal.transition(rec.id, S.PLANNING, "link returned: refining with the cloud")
    journal.transition(rec.id, S.EXECUTING, "cloud plan")
    assert journal.transition(rec.id, S.FAILED, "keys not found").terminal


def test_recover_resumes_or_fails_each(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        a = j.accept("a")
        b = j.accept("b")
        j.transition(b.id, S.PLANNING, "p")
        c = j.accept("c")
        j.transition(c.id, S.CANCELLED, "stop")
    with Journal(path) as j:
        assert {r.id for r in j.unfinished()} == {a.id, b.id}
        resumed, failed = j.recover(resume=lambda r: r.id == b.id)
        assert [r.id for r in resumed] == [b.id]
        assert [r.id for r in failed] == [a.id]
        assert j.get(a.id).state == S.FAILED
        assert "was accepted" in j.get(a.id).reason
        assert j.get(b.id).state == S.PLANNING


def test_recover_with_broken_resume_fails_with_cause(journal):
    rec = journal.accept("a")

    def broken(r):
        raise RuntimeError("planner gone")

    _, failed = journal.recover(resume=broken)
    assert failed[0].id == rec.id and "planner gone" in failed[0].reason


def test_outbox_sync_stops_on_failure_and_loses_nothing(journal):
    for i in range(7):
        journal.outbox_add("offline_decision", {"i": i}, command_id=f"c{i}")
    sent = []

    def flaky_send(batch):
        if len(sent) == 1:
            raise ConnectionError("link dropped again")
        sent.append([r.payload["i"] for r in batch])

    assert journal.sync_outbox(flaky_send, batch=3) == 3
    assert [r.payload["i"] for r in journal.outbox_pending()] == [3, 4, 5, 6]
    assert journal.sync_outbox(lambda b: sent.append([r.payload["i"] for r in b]), batch=3) == 4
    assert sent == [[0, 1, 2], [3, 4, 5], [6]]
    assert journal.outbox_pending() == []


def test_wal_mode(journal):
    mode = journal._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_not_a_database(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InvalidFileError, match="journal"):
        Journal(bad)


WRITER = r"""
import sys
from embodied_collab.link.journal import Journal
j = Journal(sys.argv[1])
i = 0
while True:
    rec = j.accept(f"command {i}", command_id=f"cmd-{i:05d}", payload={"pad": "x" * 2000})
    print(rec.id, flush=True)
    j.transition(rec.id, "planning", "routing")
    if i % 3:
        j.transition(rec.id, "executing", "plan")
    if i % 3 == 2:
        j.transition(rec.id, "done", "ok")
    j.outbox_add("note", {"i": i}, rec.id)
    i += 1
"""


def test_recovery_after_sigkill_mid_write(tmp_path):
    path = tmp_path / "crash.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    acknowledged = []
    try:
        end = time.monotonic() + 30
        while len(acknowledged) < 60 and time.monotonic() < end:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged.append(line.strip())
        os.kill(proc.pid, signal.SIGKILL)  # mid-write: the writer never stops on its own
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    assert len(acknowledged) >= 60, "writer too slow"
    db = sqlite3.connect(str(path))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with Journal(path) as j:
        stored = {r.id: r for r in j.commands()}
        # every command whose accept() returned is there: nothing acknowledged was lost
        assert set(acknowledged) <= set(stored)
        unfinished = j.unfinished()
        assert unfinished, "the kill should leave unfinished commands"
        _, failed = j.recover()
        assert {r.id for r in failed} == {r.id for r in unfinished}
        assert all(r.terminal for r in j.commands())
        for r in failed:
            assert r.reason.startswith("not resumed after restart")
            assert j.history(r.id)[-1].to_state == S.FAILED
        assert json.dumps(j.counts())  # readable after recovery
