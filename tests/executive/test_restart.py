"""Journal resume after an executive restart mid-mission: a real child process running a
mission on real SQLite is SIGKILLed; a new executive resumes the command from the journal."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from embodied_collab.executive.executive import completed_actions
from embodied_collab.link.journal import Journal

from .fakes import local_executive

CHILD = Path(__file__).with_name("restart_child.py")


def test_resume_after_kill(tmp_path):
    cid = "cmd-restart-1"
    proc = subprocess.Popen([sys.executable, str(CHILD), str(tmp_path), cid])
    try:
        end = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "child ended before it was killed"
            assert time.monotonic() < end, "child never completed two actions"
            if (tmp_path / "journal.sqlite").exists():
                with Journal(tmp_path / "journal.sqlite") as j:
                    if j.get(cid) and len(completed_actions(j, cid)) >= 2:
                        break
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait(10)
    ex, _ = local_executive(tmp_path)
    try:
        rec = ex.journal.get(cid)
        assert not rec.terminal
        done_before = completed_actions(ex.journal, cid)
        resumed, failed = ex.recover()
        assert [m.command_id for m in resumed] == [cid] and failed == []
        m = ex.run_next()
        assert m.state == "done", m.reason
        reasons = [t.reason for t in ex.journal.history(cid)]
        assert any(r.startswith(f"resumed after restart: replayed {len(done_before)}")
                   for r in reasons)
        # the replayed actions were not driven again
        assert [a["action"] for a in m.actions][: len(done_before)] != done_before
        assert ex.journal.unfinished() == []
    finally:
        ex.journal.close()


def test_restart_without_resume_fails_explicitly(tmp_path):
    ex, _ = local_executive(tmp_path, resume_on_restart=False)
    ex.journal.accept("bring the cup", command_id="cmd-x", payload={"task": {"id": "t"}})
    ex.journal.transition("cmd-x", "planning", "planning started")
    resumed, failed = ex.recover()
    assert resumed == [] and [r.id for r in failed] == ["cmd-x"]
    assert "not resumed after restart (was planning)" in ex.journal.get("cmd-x").reason
    ex.journal.close()
