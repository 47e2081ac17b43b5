"""Benchmarks through the API: the catalogue, submission, edits, re-tests, the join policy."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from app.api import bp
from app.api.common import MAX_ID, choice_arg, created, cursor_page, json_body, moment
from app.api.errors import ApiError
from app.api.forms import checked, form_data, refuse
from app.benchmarks.forms import BenchmarkForm, EditBenchmarkForm
from app.extensions import db
from app.form_errors import show_errors
from app.joins.forms import JoinPolicyForm
from app.models import Benchmark, BenchmarkStatus
from app.models.enums import InvalidTransition
from app.services.benchmark_checks import find_problems
from app.services.benchmarks import (
    BenchmarkFields,
    can_edit,
    can_view,
    frozen_message,
    is_owner,
    resubmit,
    submit_benchmark,
    update_benchmark,
)
from app.services.errors import Refusal
from app.services.join_policy import can_set_policy, set_join_policy
from app.services.paging import LIKE_ESCAPE, like_pattern

FIELDS = [
    "name",
    "description",
    "docs_url",
    "demo_url",
    "demo_sha256",
    "prep_id",
    "model_id",
    "evaluator_id",
    "make_operational",
]
ID_FIELDS = ("prep_id", "model_id", "evaluator_id")


def present_benchmark(benchmark: Benchmark) -> dict[str, Any]:
    """A benchmark as the API shows it; the allow-list only to its owner and administrators."""
    insider = is_owner(benchmark, current_user) or current_user.is_admin
    return {
        "id": benchmark.id,
        "name": benchmark.name,
        "description": benchmark.description,
        "docs_url": benchmark.docs_url,
        "status": benchmark.status.value,
        "owner": {"id": benchmark.owner_id, "name": benchmark.owner.display_name},
        "demo_url": benchmark.demo_url,
        "demo_sha256": benchmark.demo_sha256,
        "prepared_data_uid": benchmark.prepared_data_uid,
        "prep_id": benchmark.prep_id,
        "model_id": benchmark.model_id,
        "evaluator_id": benchmark.evaluator_id,
        "run_id": benchmark.run_id,
        "results": benchmark.results,
        "make_operational": benchmark.make_operational,
        "join_policy": benchmark.join_policy,
        "join_allowlist": benchmark.join_allowlist if insider else None,
        "created_at": moment(benchmark.created_at),
        "updated_at": moment(benchmark.updated_at),
        "submitted_at": moment(benchmark.submitted_at),
        "links": {
            "self": url_for("api.get_benchmark", benchmark_id=benchmark.id),
            "page": url_for("benchmarks.detail", benchmark_id=benchmark.id),
        },
    }


def visible_benchmark(benchmark_id: int) -> Benchmark:
    """The benchmark, if the caller may see it; otherwise 404, as if it did not exist."""
    benchmark = db.session.get(Benchmark, benchmark_id) if benchmark_id <= MAX_ID else None
    if benchmark is None or not can_view(benchmark, current_user):
        raise ApiError(404, "not_found", f"There is no benchmark #{benchmark_id} you can see.")
    return benchmark


def owned_benchmark(benchmark_id: int) -> Benchmark:
    benchmark = visible_benchmark(benchmark_id)
    if not is_owner(benchmark, current_user):
        raise ApiError(403, "forbidden", "Only the member who submitted it can change it.")
    return benchmark


def _refused(form, current: Benchmark | None) -> ApiError:
    """Every problem at once, as the page shows them: the form's and the service's checks."""
    data = BenchmarkFields.from_mapping(form.data)
    show_errors(form, find_problems(data, current_user, current=current, skip=form.errors))
    return refuse(form)


@bp.get("/benchmarks")
def list_benchmarks():
    """Approved benchmarks and the caller's own (administrators: all), newest first.

    Filters: q (name contains), mine=1 (only the caller's), status.
    """
    query = select(Benchmark)
    if not current_user.is_admin:
        query = query.where(
            or_(
                Benchmark.status == BenchmarkStatus.APPROVED,
                Benchmark.owner_id == current_user.id,
            )
        )
    if request.args.get("mine") == "1":
        query = query.where(Benchmark.owner_id == current_user.id)
    status = choice_arg("status", [s.value for s in BenchmarkStatus])
    if status:
        query = query.where(Benchmark.status == BenchmarkStatus(status))
    search = (request.args.get("q") or "").strip()[:128]
    if search:
        query = query.where(
            Benchmark.name_key.like(like_pattern(search.lower()), escape=LIKE_ESCAPE)
        )
    return jsonify(cursor_page(query, Benchmark.id, present_benchmark))


@bp.get("/benchmarks/<int:benchmark_id>")
def get_benchmark(benchmark_id: int):
    return jsonify(present_benchmark(visible_benchmark(benchmark_id)))


@bp.post("/benchmarks")
def submit():
    """Submit a benchmark: it is saved and its compatibility test starts."""
    data = form_data(json_body(), FIELDS, ids=ID_FIELDS)
    form = BenchmarkForm.for_member(current_user, formdata=data, meta={"csrf": False})
    if not form.validate():
        raise _refused(form, None)
    try:
        benchmark = submit_benchmark(current_user, BenchmarkFields.from_mapping(form.data))
    except Refusal as error:
        show_errors(form, error)
        raise refuse(form) from None
    body = present_benchmark(benchmark)
    return created(body, url_for("api.get_benchmark", benchmark_id=benchmark.id))


@bp.patch("/benchmarks/<int:benchmark_id>")
def edit_benchmark(benchmark_id: int):
    """Change a benchmark before a decision; a change to what was tested tests it again."""
    benchmark = owned_benchmark(benchmark_id)
    if not can_edit(benchmark, current_user):
        raise ApiError(409, "frozen", frozen_message(benchmark))
    body = json_body()
    current = {name: getattr(benchmark, name) for name in FIELDS}
    data = form_data({**current, **body}, FIELDS, ids=ID_FIELDS)
    form = EditBenchmarkForm.for_member(current_user, formdata=data, meta={"csrf": False})
    if not form.validate():
        raise _refused(form, benchmark)
    try:
        update_benchmark(benchmark, BenchmarkFields.from_mapping(form.data), by=current_user)
    except Refusal as error:
        show_errors(form, error)
        raise refuse(form) from None
    except InvalidTransition:
        raise ApiError(409, "frozen", frozen_message(benchmark)) from None
    return jsonify(present_benchmark(benchmark))


@bp.post("/benchmarks/<int:benchmark_id>/retest")
def retest(benchmark_id: int):
    """Send a benchmark whose test failed, or that needs changes, to a new test unchanged."""
    benchmark = owned_benchmark(benchmark_id)
    try:
        resubmit(benchmark, by=current_user)
    except (Refusal, InvalidTransition):
        raise ApiError(
            409, "conflict", "This benchmark cannot be sent to a new test in its present state."
        ) from None
    return jsonify(present_benchmark(benchmark))


@bp.put("/benchmarks/<int:benchmark_id>/join-policy")
def join_policy(benchmark_id: int):
    """Set which models join without the owner's decision once their test passes."""
    benchmark = visible_benchmark(benchmark_id)
    if not can_set_policy(benchmark, current_user):
        raise ApiError(403, "forbidden", "Only the owner or an administrator sets the policy.")
    data = form_data(json_body(), ["policy", "allowlist"])
    form = checked(JoinPolicyForm(formdata=data, meta={"csrf": False}))
    set_join_policy(benchmark, form.policy.data, form.allowlist.data or "", current_user)
    return jsonify(present_benchmark(benchmark))
