"""Runs for tests: containers recorded directly, runs started, a fake worker's steps."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.extensions import db
from app.models import Container, ContainerState, Role, RunStatus, StepStatus, utcnow
from app.models.enums import STEP_NAMES
from app.services.queue import redis_client
from app.services.run_events import publish, publish_many
from app.services.runs import (
    create_run,
    finish_run,
    mark_running,
    slot_from_container,
    slot_from_links,
    update_step,
)

HASH = "ab" * 32
DEMO = "https://files.example.org/demo/demo_data.tar.gz"


def make_container(
    owner, name: str, role: Role, *, operational: bool = False, valid: bool = True
) -> Container:
    """Record a container as if it had been registered, without fetching anything."""
    container = Container(
        owner_id=owner.id,
        name=name,
        name_key=name.lower(),
        role=role,
        image=f"example/{name.lower().replace(' ', '-')}:1.0",
        config_url=f"https://files.example.org/{name.replace(' ', '-')}/container_config.yaml",
        config_sha256=HASH,
        config_text="container_type: DockerImage\n",
        state=ContainerState.OPERATIONAL if operational else ContainerState.DEVELOPMENT,
        is_valid=valid,
    )
    db.session.add(container)
    db.session.commit()
    return container


def make_trio(owner, prefix: str = "Chest") -> tuple[Container, Container, Container]:
    """A data preparator, a model and an evaluator owned by owner."""
    return (
        make_container(owner, f"{prefix} prep", Role.DATA_PREPARATOR),
        make_container(owner, f"{prefix} model", Role.MODEL),
        make_container(owner, f"{prefix} evaluator", Role.EVALUATOR),
    )


def link_slots(prefix: str = "https://files.example.org") -> dict[str, dict[str, Any]]:
    """Three ad-hoc slots given by links."""
    return {
        slot: slot_from_links(f"{prefix}/{slot}/container_config.yaml")
        for slot in ("data_preparator", "model", "evaluator")
    }


def start_run(user, trio=None, **kwargs):
    """Create a run of three registered containers (or links) through the service."""
    if trio is None:
        slots = link_slots()
    else:
        slots = dict(
            zip(
                ("data_preparator", "model", "evaluator"),
                (slot_from_container(c) for c in trio),
                strict=True,
            )
        )
    return create_run(user, slots=slots, demo_url=DEMO, **kwargs)


def run_steps(
    run_id: int,
    lines: Iterable[tuple[str, str]] = (),
    *,
    fail_at: str | None = None,
    message: str = "",
    log_tail: str = "",
) -> None:
    """Play the worker's part: mark the run running and walk its steps, publishing events."""
    redis = redis_client()
    assert mark_running(run_id, "fake-worker")  # announces `running` on the stream itself
    by_step: dict[str, list[str]] = {}
    for step, line in lines:
        by_step.setdefault(step, []).append(line)
    for name in STEP_NAMES:
        started = utcnow()
        update_step(run_id, name, StepStatus.RUNNING, started_at=started)
        publish(redis, run_id, "step", step_event(name, "running", started))
        publish_many(
            redis,
            run_id,
            [log_event(name, text) for text in by_step.get(name, [])],
        )
        failed = name == fail_at
        status = StepStatus.FAILED if failed else StepStatus.PASSED
        finished = utcnow()
        fields = {"started_at": started, "finished_at": finished}
        if failed:
            fields.update(exit_code=3, message=message, log_tail=log_tail)
        update_step(run_id, name, status, **fields)
        publish(redis, run_id, "step", step_event(name, status.value, started, finished))
        if failed:
            return


def step_event(name: str, status: str, started=None, finished=None) -> dict[str, Any]:
    """The payload of a `step` event, as the worker sends it."""
    return {
        "name": name,
        "status": status,
        "started_at": started.isoformat() if started else None,
        "finished_at": finished.isoformat() if finished else None,
        "exit_code": None,
        "message": None,
    }


def pass_run(run_id: int, lines: Iterable[tuple[str, str]] = (), **evidence: Any):
    """Run every step and end the run passed, with its evidence."""
    lines = list(lines)
    run_steps(run_id, lines)
    log_text = "".join(f"[{step}] [container] {line}\n" for step, line in lines)
    return finish_run(run_id, RunStatus.PASSED, log_text=log_text, **evidence)


def fail_run(run_id: int, at: str = "infer", *, summary: str, tail: str = "", **fields: Any):
    """Run the steps up to `at`, fail there, and end the run failed."""
    run_steps(run_id, fail_at=at, message=summary, log_tail=tail)
    return finish_run(
        run_id, RunStatus.FAILED, failure_cause="exit_code", failure_summary=summary, **fields
    )


def log_event(step: str, line: str, t: float = 0.0, src: str = "container") -> tuple[str, dict]:
    """A log event as the worker's Reporter sends it: a batch, here of one line."""
    return ("log", {"lines": [{"step": step, "src": src, "line": line, "t": t}]})
