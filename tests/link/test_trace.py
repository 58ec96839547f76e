"""Command ids in structured JSON logs, across components and threads, and trace extraction."""

import contextvars
import json
import logging
import threading

import pytest

from embodied_collab.errors import InvalidFileError
from embodied_collab.link.clock import FakeClock
from embodied_collab.link.config_link import LinkConfig
from embodied_collab.link.journal import Journal
from embodied_collab.link.router import PlanRequest, Router
from embodied_collab.link.trace import (
    command_context,
    configure_json_logging,
    current_command_id,
    extract_trace,
    new_command_id,
)
from tests.link.fakes import FakeCloud, FakeLocal


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "run.jsonl"
    handler = configure_json_logging(path, logging.DEBUG)
    yield path
    logging.getLogger("embodied_collab").removeHandler(handler)
    handler.close()


def test_one_command_path_across_components(log_file, tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    router = Router(LinkConfig(), FakeCloud(False), FakeLocal(0.9), FakeClock())
    a, b = new_command_id(), new_command_id()
    speech = logging.getLogger("embodied_collab.speech.fake")
    for cid in (a, b):
        with command_context(cid):
            speech.info("heard command", extra={"event": "heard"})
            j.accept("bring the cup", command_id=cid)
            j.transition(cid, "planning", "routing")
            router.handle(PlanRequest(command_id=cid, text="bring the cup"))
            ctx = contextvars.copy_context()
            t = threading.Thread(
                target=ctx.run,
                args=(logging.getLogger("embodied_collab.executive.fake").info, "executing"),
            )
            t.start()
            t.join(5)
    j.close()
    trace = extract_trace(log_file, a)
    components = [r["component"] for r in trace]
    assert components[0] == "speech"
    assert {"speech", "link", "executive"} <= set(components)
    events = [r.get("event") for r in trace]
    assert "route" in events and "decision" in events and "transition" in events
    assert all(r["command_id"] == a for r in trace)
    assert [r["ts"] for r in trace] == sorted(r["ts"] for r in trace)
    assert len(extract_trace(log_file, b)) == len(trace)


def test_context_nesting_and_outside():
    assert current_command_id() is None
    with command_context("x"):
        with command_context("y"):
            assert current_command_id() == "y"
        assert current_command_id() == "x"
    assert current_command_id() is None


def test_json_lines_are_valid(log_file):
    logging.getLogger("embodied_collab.link.t").warning("no command %d", 1)
    rec = json.loads(log_file.read_text().splitlines()[-1])
    assert rec["command_id"] is None and rec["msg"] == "no command 1" and rec["level"] == "WARNING"


def test_bad_log_file(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"a": 1}\nnot json\n')
    with pytest.raises(InvalidFileError, match="line 2"):
        extract_trace(p, "cmd")
    with pytest.raises(InvalidFileError, match="not found"):
        extract_trace(tmp_path / "missing.jsonl", "cmd")
