"""Views of the review queue and of one benchmark's review, with the decision form."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.auth.access import admin_required
from app.benchmarks.display import status_words
from app.extensions import db
from app.models import Benchmark
from app.models.enums import InvalidTransition
from app.review import bp
from app.review.evidence import slot_inputs
from app.review.forms import DecisionForm
from app.services.audit import events_for
from app.services.errors import Refusal
from app.services.listings import review_queue_page
from app.services.page_cache import Rendered, kept_html
from app.services.paging import requested_page
from app.services.reviews import (
    approve_benchmark,
    reject_benchmark,
    request_changes,
    revoke_approval,
)
from app.settings import settings

DECIDE = {
    "approve": approve_benchmark,
    "request_changes": request_changes,
    "reject": reject_benchmark,
    "revoke": revoke_approval,
}
DONE = {
    "approve": "is approved",
    "request_changes": "goes back to its owner for changes",
    "reject": "is rejected",
    "revoke": "is no longer approved: it is rejected",
}


@bp.route("/")
@admin_required
def queue():
    def render() -> Rendered:
        page = review_queue_page(per_page=settings().page_size)
        return Rendered(render_template("review/_list.html", page=page))

    listing = kept_html(("review queue", requested_page()), render, viewer_id=current_user.id)
    return render_template("review/queue.html", listing=listing)


@bp.route("/<int:benchmark_id>", methods=["GET", "POST"])
@admin_required
def review(benchmark_id: int):
    benchmark = db.get_or_404(Benchmark, benchmark_id)
    form = DecisionForm()
    if form.validate_on_submit():
        decision = form.decision.data
        try:
            DECIDE[decision](benchmark, by=current_user, reason=form.reason.data)
        except Refusal as error:
            form.reason.errors = [*form.reason.errors, *error.errors.get("reason", [])]
        except InvalidTransition:
            flash(
                "This decision is not possible while the benchmark's status is "
                f"“{status_words(benchmark.status)}”. Nothing was changed.",
                "error",
            )
            return redirect(url_for("review.review", benchmark_id=benchmark.id))
        else:
            flash(f"“{benchmark.name}” {DONE[decision]}. The owner is notified.", "success")
            return redirect(url_for("review.queue"))
    run = benchmark.run
    return render_template(
        "review/review.html",
        benchmark=benchmark,
        run=run,
        inputs=slot_inputs(run) if run is not None else [],
        events=events_for(benchmark),
        form=form,
    )
