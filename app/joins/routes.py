"""Views of join requests: ask with a model, decide, set the join policy, the asker's list."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.joins import bp
from app.joins.forms import AskToJoinForm, JoinDecisionForm, JoinPolicyForm
from app.models import Benchmark, BenchmarkStatus, Container, JoinRequest
from app.models.enums import InvalidTransition
from app.services.benchmarks import can_view
from app.services.join_policy import JoinPolicyError, set_join_policy
from app.services.join_requests import (
    JoinRequestError,
    ask_to_join,
    asked_by_query,
    decide_join_request,
)


def _visible_or_404(benchmark_id: int) -> Benchmark:
    """The benchmark, if the member may see it; otherwise 404, as if it did not exist."""
    benchmark = db.get_or_404(Benchmark, benchmark_id)
    if not can_view(benchmark, current_user):
        abort(404)
    return benchmark


def _back(benchmark_id: int, anchor: str = "joining"):
    return redirect(url_for("benchmarks.detail", benchmark_id=benchmark_id, _anchor=anchor))


def _flash_errors(messages) -> None:
    for message in messages:
        flash(message, "error")


def _form_messages(form) -> list[str]:
    return [m for field in form for m in field.errors] + list(form.form_errors)


@bp.route("/<int:benchmark_id>/join", methods=["GET"])
@login_required
def choose(benchmark_id: int):
    benchmark = _visible_or_404(benchmark_id)
    if benchmark.status != BenchmarkStatus.APPROVED:
        flash("Models can ask to join once an administrator approves the benchmark.", "info")
        return _back(benchmark.id)
    form = AskToJoinForm.for_member(current_user)
    return render_template("joins/ask.html", benchmark=benchmark, form=form)


@bp.route("/<int:benchmark_id>/join", methods=["POST"])
@login_required
def ask(benchmark_id: int):
    benchmark = _visible_or_404(benchmark_id)
    # No choices needed to validate (validate_choice=False; the service checks the model), and
    # building them reads every operational model of the portal.
    form = AskToJoinForm()
    if not form.validate_on_submit():
        _flash_errors(_form_messages(form))
        return _back(benchmark.id)
    model = (
        db.session.get(Container, int(form.model_id.data)) if form.model_id.data.isdigit() else None
    )
    if model is None:
        flash("This model no longer exists. Choose another one.", "error")
        return _back(benchmark.id)
    try:
        request = ask_to_join(benchmark, model, current_user)
    except JoinRequestError as error:
        _flash_errors(m for ms in error.errors.values() for m in ms)
        return _back(benchmark.id)
    flash(
        f"The test of “{model.name}” with “{benchmark.name}” has started. Follow it below; "
        "when it passes, the benchmark's owner decides on your request.",
        "success",
    )
    return redirect(url_for("runs.detail", run_id=request.run_id))


@bp.route("/join-requests/<int:request_id>/decide", methods=["POST"])
@login_required
def decide(request_id: int):
    join_request = db.get_or_404(JoinRequest, request_id)
    _visible_or_404(join_request.benchmark_id)  # of an approved benchmark: 403 below, not 404
    form = JoinDecisionForm()
    if not form.validate_on_submit() or not (form.approve.data or form.reject.data):
        _flash_errors(_form_messages(form) or ["Press Approve or Reject."])
        return _back(join_request.benchmark_id)
    try:
        decide_join_request(join_request, form.approve.data, current_user, form.reason.data)
    except PermissionError:
        abort(
            403,
            "Only the benchmark's owner or an administrator decides, never on a "
            "request they made themselves.",
        )
    except JoinRequestError as error:
        _flash_errors(m for ms in error.errors.values() for m in ms)
        return _back(join_request.benchmark_id)
    except InvalidTransition:
        flash("This request was already decided, or its test has not passed.", "error")
        return _back(join_request.benchmark_id)
    word = "approved: the model has joined" if form.approve.data else "rejected"
    flash(f"The request of “{join_request.model.name}” is {word}.", "success")
    return _back(join_request.benchmark_id)


@bp.route("/<int:benchmark_id>/join-policy", methods=["POST"])
@login_required
def policy(benchmark_id: int):
    benchmark = _visible_or_404(benchmark_id)
    form = JoinPolicyForm()
    if not form.validate_on_submit():
        _flash_errors(_form_messages(form))
        return _back(benchmark.id, "join-policy")
    try:
        set_join_policy(benchmark, form.policy.data, form.allowlist.data or "", current_user)
    except PermissionError:
        abort(403, "Only the benchmark's owner or an administrator sets its join policy.")
    except JoinPolicyError as error:
        _flash_errors(m for ms in error.errors.values() for m in ms)
        return _back(benchmark.id, "join-policy")
    flash("The join policy is saved.", "success")
    return _back(benchmark.id, "join-policy")


@bp.route("/join-requests")
@login_required
def mine():
    page = db.paginate(
        asked_by_query(current_user), per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    return render_template("joins/mine.html", page=page)
