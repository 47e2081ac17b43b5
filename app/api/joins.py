"""Join requests through the API: ask with a model, list them, decide on them."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask_login import current_user
from sqlalchemy import select

from app.api import bp
from app.api.benchmarks import visible_benchmark
from app.api.common import MAX_ID, choice_arg, created, cursor_page, json_body, moment
from app.api.errors import ApiError, invalid
from app.api.forms import checked, form_data, refuse
from app.extensions import db
from app.form_errors import show_errors
from app.joins.forms import AskToJoinForm, JoinDecisionForm
from app.models import Container, JoinRequest, JoinRequestStatus
from app.models.enums import InvalidTransition
from app.services.errors import Refusal
from app.services.join_requests import (
    ask_to_join,
    can_manage,
    decide_join_request,
)


def present_request(join: JoinRequest) -> dict[str, Any]:
    return {
        "id": join.id,
        "benchmark_id": join.benchmark_id,
        "model_id": join.model_id,
        "model_name": join.model.name,
        "requested_by": {"id": join.requested_by_id, "name": join.requested_by.display_name},
        "status": join.status.value,
        "run_id": join.run_id,
        "results": join.results,
        "reason": join.reason,
        "decided_by_id": join.decided_by_id,
        "created_at": moment(join.created_at),
        "decided_at": moment(join.decided_at),
    }


@bp.post("/benchmarks/<int:benchmark_id>/join-requests")
def ask(benchmark_id: int):
    """Ask to join an approved benchmark with a model: its test starts at once."""
    benchmark = visible_benchmark(benchmark_id)
    form = checked(
        AskToJoinForm(
            formdata=form_data(json_body(), ["model_id"], ids=["model_id"]), meta={"csrf": False}
        )
    )
    chosen = form.model_id.data
    model = db.session.get(Container, int(chosen)) if chosen.isdigit() else None
    if model is None:
        raise invalid({"model_id": ["This model does not exist. Choose another one."]})
    try:
        join = ask_to_join(benchmark, model, current_user)
    except Refusal as error:
        show_errors(form, error)
        raise refuse(form) from None
    return created(present_request(join), url_for("api.get_join_request", request_id=join.id))


@bp.get("/benchmarks/<int:benchmark_id>/join-requests")
def benchmark_requests(benchmark_id: int):
    """Every request to join (owner, administrators), or the caller's own (other members)."""
    benchmark = visible_benchmark(benchmark_id)
    query = select(JoinRequest).where(JoinRequest.benchmark_id == benchmark.id)
    if not can_manage(benchmark, current_user):
        query = query.where(JoinRequest.requested_by_id == current_user.id)
    query = _filtered(query)
    return jsonify(cursor_page(query, JoinRequest.id, present_request))


@bp.get("/join-requests")
def my_requests():
    """The requests the caller made, newest first."""
    query = _filtered(select(JoinRequest).where(JoinRequest.requested_by_id == current_user.id))
    return jsonify(cursor_page(query, JoinRequest.id, present_request))


def _filtered(query):
    status = choice_arg("status", [s.value for s in JoinRequestStatus])
    return query.where(JoinRequest.status == JoinRequestStatus(status)) if status else query


def visible_request(request_id: int) -> JoinRequest:
    """The request, for the one who asked and whoever manages its benchmark; else 404."""
    join = db.session.get(JoinRequest, request_id) if request_id <= MAX_ID else None
    if join is not None:
        benchmark = visible_benchmark(join.benchmark_id)
        if join.requested_by_id == current_user.id or can_manage(benchmark, current_user):
            return join
    raise ApiError(404, "not_found", f"There is no join request #{request_id} you can see.")


@bp.get("/join-requests/<int:request_id>")
def get_join_request(request_id: int):
    return jsonify(present_request(visible_request(request_id)))


@bp.post("/join-requests/<int:request_id>/decision")
def decide(request_id: int):
    """Approve or reject a pending request; a rejection needs a reason."""
    join = visible_request(request_id)
    body = json_body()
    approve = body.get("approve")
    if not isinstance(approve, bool):
        raise invalid({"approve": ["Say true to approve or false to reject."]})
    form = checked(
        JoinDecisionForm(formdata=form_data(body, ["approve", "reason"]), meta={"csrf": False})
    )
    try:
        decide_join_request(join, approve, current_user, form.reason.data)
    except PermissionError:
        raise ApiError(
            403,
            "forbidden",
            "Only the benchmark's owner or an administrator decides, never on a request they "
            "made themselves.",
        ) from None
    except Refusal as error:
        show_errors(form, error)
        raise refuse(form) from None
    except InvalidTransition:
        raise ApiError(
            409, "conflict", "This request was already decided, or its test has not passed."
        ) from None
    return jsonify(present_request(join))
