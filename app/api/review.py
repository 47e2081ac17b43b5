"""The administrators' review through the API: the queue, a benchmark's evidence, decisions."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from app.api import bp
from app.api.auth import admin_only
from app.api.benchmarks import present_benchmark
from app.api.common import MAX_ID, cursor_page, json_body, moment
from app.api.errors import ApiError
from app.api.forms import checked, form_data, refuse
from app.api.runs import present_run
from app.extensions import db
from app.models import Benchmark, BenchmarkStatus
from app.models.enums import InvalidTransition
from app.review.evidence import slot_inputs
from app.review.forms import DecisionForm
from app.review.routes import DECIDE
from app.services.audit import events_for
from app.services.errors import Refusal


def _benchmark(benchmark_id: int) -> Benchmark:
    benchmark = db.session.get(Benchmark, benchmark_id) if benchmark_id <= MAX_ID else None
    if benchmark is None:
        raise ApiError(404, "not_found", f"There is no benchmark #{benchmark_id}.")
    return benchmark


@bp.get("/review/queue")
@admin_only
def review_queue():
    """Benchmarks awaiting a decision, newest first."""
    query = select(Benchmark).where(Benchmark.status == BenchmarkStatus.PENDING_APPROVAL)
    return jsonify(cursor_page(query, Benchmark.id, present_benchmark))


@bp.get("/review/<int:benchmark_id>")
@admin_only
def evidence(benchmark_id: int):
    """What a decision rests on: the benchmark, its test, each input's hashes, its history."""
    benchmark = _benchmark(benchmark_id)
    run = benchmark.run
    return jsonify(
        {
            "benchmark": present_benchmark(benchmark),
            "run": present_run(run) if run is not None else None,
            "inputs": [
                {
                    "slot": slot.label,
                    "container_id": slot.container.id if slot.container is not None else None,
                    "files": [
                        {"what": row.what, "url": row.url, "sha256": row.sha256, "note": row.note}
                        for row in slot.rows
                    ],
                }
                for slot in (slot_inputs(run) if run is not None else [])
            ],
            "history": [
                {
                    "action": event.action,
                    "reason": event.reason,
                    "actor": event.actor_name,
                    "at": moment(event.created_at),
                }
                for event in events_for(benchmark)
            ],
        }
    )


@bp.post("/review/<int:benchmark_id>/decision")
@admin_only
def review_decision(benchmark_id: int):
    """Approve, request changes, reject or revoke; all but approval need a reason."""
    benchmark = _benchmark(benchmark_id)
    data = form_data(json_body(), ["decision", "reason"])
    form = checked(DecisionForm(formdata=data, meta={"csrf": False}))
    try:
        DECIDE[form.decision.data](benchmark, by=current_user, reason=form.reason.data)
    except Refusal as error:
        form.reason.errors = [*form.reason.errors, *error.errors.get("reason", [])]
        raise refuse(form) from None
    except InvalidTransition:
        raise ApiError(
            409,
            "conflict",
            f"This decision is not possible while the benchmark is {benchmark.status.value}.",
        ) from None
    return jsonify(present_benchmark(benchmark))
