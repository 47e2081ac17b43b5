"""Views of join requests: ask with a model, decide, set the join policy, the asker's list."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.database import record_id
from app.extensions import db
from app.form_errors import show_errors
from app.joins import bp
from app.joins.display import side_by_side
from app.joins.forms import AskToJoinForm, JoinDecisionForm, JoinPolicyForm
from app.models import Benchmark, BenchmarkStatus, Container, JoinRequest
from app.models.enums import InvalidTransition
from app.services.benchmarks import can_view
from app.services.errors import Refusal
from app.services.join_policy import can_set_policy, set_join_policy
from app.services.join_requests import (
    ask_to_join,
    asked_by_query,
    can_decide,
    can_manage,
    decide_join_request,
)
from app.services.paging import paginate
from app.settings import settings


def _visible_or_404(benchmark_id: int) -> Benchmark:
    """The benchmark, if the member may see it; otherwise 404, as if it did not exist."""
    benchmark = db.get_or_404(Benchmark, benchmark_id)
    if not can_view(benchmark, current_user):
        abort(404)
    return benchmark


def _back(benchmark_id: int, anchor: str = "joining"):
    return redirect(url_for("benchmarks.detail", benchmark_id=benchmark_id, _anchor=anchor))


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
    # No choices needed to check the answer (the service says why a model cannot be used), and
    # building them reads every operational model of the portal: only for a refusal's page.
    form = AskToJoinForm()
    if form.validate_on_submit():
        chosen = form.model_id.data
        model_id = record_id(chosen)
        model = db.session.get(Container, model_id) if model_id is not None else None
        if model is None:
            form.model_id.errors.append("This model no longer exists. Choose another one.")
        else:
            try:
                request = ask_to_join(benchmark, model, current_user)
            except Refusal as error:
                show_errors(form, error)
            else:
                flash(
                    f"The test of “{model.name}” with “{benchmark.name}” has started. Follow it "
                    "below; when it passes, the benchmark's owner decides on your request.",
                    "success",
                )
                return redirect(url_for("runs.detail", run_id=request.run_id))
    # Refused: the ask page says why, next to the choice, with the choice kept.
    form.model_id.choices = AskToJoinForm.for_member(current_user).model_id.choices
    return render_template("joins/ask.html", benchmark=benchmark, form=form)


@bp.route("/join-requests/<int:request_id>/decide", methods=["GET", "POST"])
@login_required
def decide(request_id: int):
    join_request = db.get_or_404(JoinRequest, request_id)
    benchmark = _visible_or_404(join_request.benchmark_id)
    if not can_manage(benchmark, current_user):
        if join_request.requested_by_id != current_user.id:
            abort(404)  # another member's request, as if it did not exist
        abort(403, "Only the benchmark's owner or an administrator decides on a request.")
    form = JoinDecisionForm()
    if form.validate_on_submit():
        if not (form.approve.data or form.reject.data):
            form.form_errors.append("Press Approve or Reject.")
        else:
            try:
                decide_join_request(join_request, form.approve.data, current_user, form.reason.data)
            except PermissionError:
                abort(
                    403,
                    "Only the benchmark's owner or an administrator decides, never on a "
                    "request they made themselves.",
                )
            except Refusal as error:
                show_errors(form, error)
            except InvalidTransition:
                form.form_errors.append(
                    "This request was already decided, or its test has not passed."
                )
            else:
                word = "approved: the model has joined" if form.approve.data else "rejected"
                flash(f"The request of “{join_request.model.name}” is {word}.", "success")
                return _back(join_request.benchmark_id)
    return render_template(
        "joins/decide.html",
        benchmark=benchmark,
        join_request=join_request,
        form=form,
        comparison=side_by_side(benchmark.results, join_request.results),
        can_decide=can_decide(join_request, current_user),
    )


@bp.route("/<int:benchmark_id>/join-policy", methods=["GET", "POST"])
@login_required
def policy(benchmark_id: int):
    benchmark = _visible_or_404(benchmark_id)
    if not can_set_policy(benchmark, current_user):
        abort(403, "Only the benchmark's owner or an administrator sets its join policy.")
    form = JoinPolicyForm(policy=benchmark.join_policy, allowlist=benchmark.join_allowlist)
    if form.validate_on_submit():
        try:
            set_join_policy(benchmark, form.policy.data, form.allowlist.data or "", current_user)
        except Refusal as error:
            show_errors(form, error)
        else:
            flash("The join policy is saved.", "success")
            return _back(benchmark.id, "join-policy")
    return render_template("joins/policy.html", benchmark=benchmark, form=form)


@bp.route("/join-requests")
@login_required
def mine():
    page = paginate(asked_by_query(current_user), per_page=settings().page_size)
    return render_template("joins/mine.html", page=page)
