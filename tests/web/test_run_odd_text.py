"""Odd bytes in what a run stores never cost it its ending (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DataError

from app.extensions import db
from app.jobs import tasks
from app.models import Run, RunStatus, StepStatus
from app.services import runs
from tests.support.runs import start_run
from tests.support.web import post_form


def reload(run_id: int) -> Run:
    db.session.expire_all()
    return db.session.get(Run, run_id)


def test_nul_bytes_surrogates_and_escapes_are_stored_as_visible_escapes(app, member):
    run = start_run(member)
    assert runs.mark_running(run.id, "worker-1")
    runs.update_step(run.id, "infer", StepStatus.FAILED, message="bad\x00", log_tail="t\x00\ud800")
    runs.finish_run(
        run.id,
        RunStatus.FAILED,
        failure_cause="exit_code",
        failure_summary="exit \x00\x1b[2J\u202e",
        failure_log_tail="[infer] [container] \x00",
        log_text="[infer] [container] a\x00b\n[infer] [container] \udcff\n",
        statistics={"a\x00b": "\x00", "list": ["\ud800", 1.5]},
        results={"k\u2028": {"n\x00": None}},
    )
    run = reload(run.id)
    assert run.status == RunStatus.FAILED
    assert run.failure_summary == "exit \\x00\\x1b[2J\\u202e"
    assert run.log_text == "[infer] [container] a\\x00b\n[infer] [container] \\udcff\n"
    assert run.statistics == {"a\\x00b": "\\x00", "list": ["\\ud800", 1.5]}
    assert run.results == {"k\\u2028": {"n\\x00": None}}
    infer = next(step for step in run.steps if step.name == "infer")
    assert (infer.message, infer.log_tail) == ("bad\\x00", "t\\x00\\ud800")


def test_a_log_that_cannot_be_stored_still_leaves_the_run_passed_with_its_evidence(
    app, member, monkeypatch
):
    run = start_run(member)
    assert runs.mark_running(run.id, "worker-1")
    real_finish = runs.finish_run
    tried: list[str] = []

    def refuse_the_big_log(run_id: int, status: RunStatus, **fields: Any) -> Run:
        tried.append(fields["log_text"])
        if fields["log_text"] == "the log":
            db.session.add(db.session.get(Run, run_id))
            raise DataError("UPDATE runs", {}, Exception("value too long"))
        return real_finish(run_id, status, **fields)

    monkeypatch.setattr(runs, "finish_run", refuse_the_big_log)
    evidence = {"results": {"accuracy": 0.75}, "hashes": {"demo": "ab" * 32}}
    tasks._finish(run.id, RunStatus.PASSED, "the log", evidence)

    run = reload(run.id)
    assert len(tried) == 2
    assert run.status == RunStatus.PASSED
    assert run.results == {"accuracy": 0.75} and run.hashes == {"demo": "ab" * 32}
    assert run.log_text == "[run] [benchgate] The log of this run could not be stored."


def test_evidence_that_cannot_be_stored_still_leaves_the_run_ended(app, member, monkeypatch):
    run = start_run(member)
    assert runs.mark_running(run.id, "worker-1")
    real_finish = runs.finish_run

    def refuse_results(run_id: int, status: RunStatus, **fields: Any) -> Run:
        if "results" in fields:
            raise DataError("UPDATE runs", {}, Exception("cannot store"))
        return real_finish(run_id, status, **fields)

    monkeypatch.setattr(runs, "finish_run", refuse_results)
    tasks._finish(run.id, RunStatus.PASSED, "log", {"results": {"x": 1}, "hashes": {"d": "1"}})
    run = reload(run.id)
    assert run.status == RunStatus.PASSED
    assert run.hashes == {"d": "1"} and run.results is None
    assert run.failure_summary == "The results of this run could not be stored."


def test_a_control_character_typed_in_a_name_is_a_form_error_not_a_server_error(member_client):
    for url, data in [
        ("/containers/register", {"name": "Chest\x01prep", "role": "model"}),
        ("/benchmarks/new", {"name": "Chest\x1b", "description": "Finds\x01 things"}),
    ]:
        response = post_form(member_client, url, data)
        assert response.status_code == 200
        assert "invisible" in response.get_data(as_text=True)  # said by the field
    for url in ("/containers/?q=ch%01est", "/benchmarks/?q=ch%01est"):
        assert member_client.get(url).status_code == 200


def test_a_nul_anywhere_is_refused_with_a_plain_page(member_client):
    response = post_form(member_client, "/containers/register", {"name": "Chest\x00prep"})
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    for url in ("/containers/?q=ch%00est", "/benchmarks/?q=ch%00est"):
        assert member_client.get(url).status_code == 400
