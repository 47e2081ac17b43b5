"""Views of benchmarks: catalogue, the owner's list, submission, detail, edit and re-test."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.benchmarks import bp
from app.benchmarks.forms import BenchmarkForm, CatalogueSearchForm, EditBenchmarkForm
from app.form_errors import show_errors
from app.joins.panel import benchmark_panel
from app.models import Benchmark
from app.models.enums import InvalidTransition
from app.runs.values import values_download
from app.services.audit import events_of
from app.services.benchmark_checks import find_problems
from app.services.benchmarks import (
    BenchmarkFields,
    benchmark_for_page,
    benchmark_head,
    can_edit,
    can_retest,
    can_view,
    frozen_message,
    is_owner,
    resubmit,
    submit_benchmark,
    update_benchmark,
)
from app.services.errors import Refusal
from app.services.join_policy import without_allowlists
from app.services.listings import benchmark_catalogue_page, owned_benchmarks_page
from app.services.page_cache import Rendered, kept_html, kept_value
from app.services.paging import requested_page
from app.settings import settings

JOINING = "joins/_benchmark_section.html"


def _visible_or_404(benchmark_id: int) -> Benchmark:
    """The benchmark, if the member may see it; otherwise 404, as if it did not exist."""
    benchmark = benchmark_for_page(benchmark_id)
    if benchmark is None or not can_view(benchmark, current_user):
        abort(404)
    return benchmark


def _check_the_rest(form, current: Benchmark | None) -> None:
    """After a refused form, still report the other fields' problems: all of them at once."""
    data = BenchmarkFields.from_mapping(form.data)
    show_errors(form, find_problems(data, current_user, current=current, skip=form.errors))


@bp.route("/")
@login_required
def index():
    search = CatalogueSearchForm(request.args)
    args = {"q": search.q.data} if search.q.data else {}

    def render() -> Rendered:
        page = benchmark_catalogue_page(search.q.data, per_page=settings().page_size)
        return Rendered(render_template("benchmarks/_list.html", page=page, args=args))

    key = ("benchmarks", search.q.data or "", requested_page())
    listing = kept_html(key, render, viewer_id=current_user.id)
    return render_template("benchmarks/index.html", listing=listing, search=search, args=args)


@bp.route("/mine")
@login_required
def mine():
    page = owned_benchmarks_page(current_user, per_page=settings().page_size)
    return render_template("benchmarks/mine.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = BenchmarkForm.for_member(current_user)
    if form.validate_on_submit():
        try:
            benchmark = submit_benchmark(current_user, BenchmarkFields.from_mapping(form.data))
        except Refusal as error:
            show_errors(form, error)
        else:
            flash(
                f"“{benchmark.name}” is saved and its compatibility test has started. Follow it "
                "below; when it passes, the benchmark goes to an administrator for review.",
                "success",
            )
            return redirect(url_for("runs.detail", run_id=benchmark.run_id))
    elif form.is_submitted():
        _check_the_rest(form, current=None)
    return render_template("benchmarks/new.html", form=form)


@bp.route("/<int:benchmark_id>")
@login_required
def detail(benchmark_id: int):
    # The few fields that decide who sees what, kept like the parts: the benchmark itself, its
    # containers and test are read only when a part must be rendered (services/page_cache).
    head = kept_value(("benchmark head", benchmark_id), lambda: benchmark_head(benchmark_id))
    if head is None or not can_view(head, current_user):
        abort(404)
    owner = is_owner(head, current_user)
    insider = owner or current_user.is_admin
    loaded: list[Benchmark] = []

    def benchmark() -> Benchmark:
        if not loaded:
            loaded.append(benchmark_for_page(benchmark_id))
        return loaded[0]

    def render_evidence() -> Rendered:
        html = render_template("benchmarks/_evidence.html", benchmark=benchmark(), insider=insider)
        return Rendered(html)

    def render_history() -> Rendered:
        events = events_of("benchmark", benchmark_id)
        if not insider:
            events = without_allowlists(events)
        return Rendered(render_template("benchmarks/_history.html", events=events))

    def render_joining() -> Rendered:
        join = benchmark_panel(benchmark(), current_user)
        return Rendered(render_template(JOINING, benchmark=benchmark(), join=join))

    viewer = current_user.id
    return render_template(
        "benchmarks/detail.html",
        benchmark=head,
        evidence=kept_html(("evidence", benchmark_id, insider), render_evidence, viewer_id=viewer),
        # The reader's own models and requests: kept for this reader only.
        joining=kept_html(("joining", benchmark_id, viewer), render_joining, viewer_id=viewer),
        history=kept_html(("history", benchmark_id, insider), render_history, viewer_id=viewer),
        owner=owner,
        can_edit=can_edit(head, current_user),
        can_retest=can_retest(head, current_user),
    )


@bp.route("/<int:benchmark_id>/results.json")
@login_required
def results_download(benchmark_id: int):
    benchmark = _visible_or_404(benchmark_id)
    if benchmark.results is None:
        abort(404)
    return values_download(benchmark.results, f"benchgate-benchmark-{benchmark.id}-results.json")


@bp.route("/<int:benchmark_id>/edit", methods=["GET", "POST"])
@login_required
def edit(benchmark_id: int):
    benchmark = _visible_or_404(benchmark_id)
    if not is_owner(benchmark, current_user):
        abort(403)
    if not can_edit(benchmark, current_user):
        flash(frozen_message(benchmark), "error")
        return redirect(url_for("benchmarks.detail", benchmark_id=benchmark.id))
    form = EditBenchmarkForm.for_member(current_user, obj=benchmark)
    tested_run_id = benchmark.run_id
    if form.validate_on_submit():
        try:
            update_benchmark(benchmark, BenchmarkFields.from_mapping(form.data), by=current_user)
        except Refusal as error:
            show_errors(form, error)
        except InvalidTransition:
            flash(frozen_message(benchmark), "error")
            return redirect(url_for("benchmarks.detail", benchmark_id=benchmark.id))
        else:
            return _after_save(benchmark, retested=benchmark.run_id != tested_run_id)
    elif form.is_submitted():
        _check_the_rest(form, current=benchmark)
    return render_template("benchmarks/edit.html", form=form, benchmark=benchmark)


def _after_save(benchmark: Benchmark, *, retested: bool):
    """Follow the new test when the edit started one; otherwise back to the benchmark."""
    if retested:
        flash(f"“{benchmark.name}” is saved and tested again. Follow the test below.", "success")
        return redirect(url_for("runs.detail", run_id=benchmark.run_id))
    flash(f"“{benchmark.name}” is saved.", "success")
    return redirect(url_for("benchmarks.detail", benchmark_id=benchmark.id))


@bp.route("/<int:benchmark_id>/retest", methods=["POST"])
@login_required
def retest(benchmark_id: int):
    benchmark = _visible_or_404(benchmark_id)
    if not is_owner(benchmark, current_user):
        abort(403)
    try:
        resubmit(benchmark, by=current_user)
    except (Refusal, InvalidTransition):
        flash("This benchmark cannot be sent to a new test in its present state.", "error")
        return redirect(url_for("benchmarks.detail", benchmark_id=benchmark.id))
    flash(f"“{benchmark.name}” is being tested again. Follow the test below.", "success")
    return redirect(url_for("runs.detail", run_id=benchmark.run_id))
