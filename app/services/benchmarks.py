"""Benchmarks: submission, edits and re-tests by the owner, and who may see or change them.

Each of the owner's actions (submit_benchmark, update_benchmark, resubmit) commits once: the
benchmark, its new test run and the cancel of the test it supersedes are saved together, and
the run's job is queued after that commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import NoReturn

from flask import current_app, has_request_context, url_for
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, joinedload

from app.database import record_id
from app.extensions import db
from app.models import (
    Benchmark,
    BenchmarkStatus,
    Container,
    Run,
    RunKind,
    User,
    utcnow,
)
from app.models.enums import BENCHMARK_TRANSITIONS, EDITABLE_BENCHMARK_STATUSES, check_transition
from app.names import name_key, normalize_name
from app.services.audit import record_event
from app.services.benchmark_checks import SLOT_FIELDS, check_fields
from app.services.errors import FORM, Refusal
from app.services.runs import add_run, request_cancel, slot_from_container
from app.services.users import unverified_problem

# What an edit may change, with the words the audit trail uses for each.
_EDITABLE = {
    "name": "name",
    "description": "description",
    "docs_url": "documentation link",
    "demo_url": "demo-data link",
    "demo_sha256": "demo-data hash",
    **{key: role.benchmark_noun for key, role in SLOT_FIELDS.items()},
    "make_operational": "operational choice",
}
# Changing one of these makes the last test say nothing about the benchmark any more.
_TESTED = ("demo_url", "demo_sha256", "prep_id", "model_id", "evaluator_id")


@dataclass(frozen=True)
class BenchmarkFields:
    """What the owner types to submit or edit a benchmark; empty optional fields are None."""

    name: str
    description: str = ""
    docs_url: str | None = None
    demo_url: str = ""
    demo_sha256: str | None = None
    prep_id: int | None = None
    model_id: int | None = None
    evaluator_id: int | None = None
    make_operational: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> BenchmarkFields:
        """Build from form data: strip text, blank optional values to None, ids to int."""
        values: dict[str, object] = {}
        for item in fields(cls):
            value = data.get(item.name)
            if isinstance(value, str):
                value = value.strip() or None
            values[item.name] = value
        for key in SLOT_FIELDS:
            values[key] = record_id(values[key])
        values["name"] = values["name"] or ""
        values["description"] = values["description"] or ""
        values["demo_url"] = values["demo_url"] or ""
        values["demo_sha256"] = values["demo_sha256"].lower() if values["demo_sha256"] else None
        values["make_operational"] = bool(values["make_operational"])
        return cls(**values)


# Who may do what.


def is_owner(benchmark: Benchmark | BenchmarkHead, user: User) -> bool:
    """Tell whether user submitted this benchmark."""
    return user.is_authenticated and benchmark.owner_id == user.id


@dataclass(frozen=True)
class BenchmarkHead:
    """What a benchmark's page needs before anything else: who may see it, and its heading."""

    id: int
    name: str
    status: BenchmarkStatus
    owner_id: int


def benchmark_head(benchmark_id: int) -> BenchmarkHead | None:
    """Read the few fields of a benchmark that decide who may see and change it."""
    row = db.session.execute(_head_query(), {"benchmark_id": benchmark_id}).first()
    return BenchmarkHead(*row) if row is not None else None


@cache
def _head_query() -> Select:
    return select(Benchmark.id, Benchmark.name, Benchmark.status, Benchmark.owner_id).where(
        Benchmark.id == bindparam("benchmark_id")
    )


def benchmark_for_page(benchmark_id: int) -> Benchmark | None:
    """Load a benchmark with what its page shows: containers, their owners, its test's status."""
    return db.session.scalar(_page_query(), {"benchmark_id": benchmark_id})


@cache
def _page_query() -> Select:
    # One query instead of one per container and one for the run, whose log it leaves out;
    # built once, as building it costs more than running it.
    shown = (Container.name, Container.state, Container.is_valid, Container.owner_id)
    return (
        select(Benchmark)
        .where(Benchmark.id == bindparam("benchmark_id"))
        .options(
            *(
                joinedload(slot).load_only(*shown)
                for slot in (Benchmark.prep, Benchmark.model, Benchmark.evaluator)
            ),
            joinedload(Benchmark.run).load_only(Run.status, Run.finished_at),
            defaultload(Benchmark.run).lazyload(Run.requester),
        )
    )


def can_view(benchmark: Benchmark | BenchmarkHead, user: User) -> bool:
    """Approved benchmarks are for every member; the others for their owner and administrators."""
    if not user.is_authenticated:
        return False
    return (
        benchmark.status == BenchmarkStatus.APPROVED or is_owner(benchmark, user) or user.is_admin
    )


def can_edit(benchmark: Benchmark | BenchmarkHead, user: User) -> bool:
    """Tell whether user may edit the benchmark now: its owner, before a decision."""
    return is_owner(benchmark, user) and benchmark.status in EDITABLE_BENCHMARK_STATUSES


def can_retest(benchmark: Benchmark | BenchmarkHead, user: User) -> bool:
    """Tell whether the owner may send the benchmark, unchanged, to a new test."""
    return is_owner(benchmark, user) and benchmark.status in (
        BenchmarkStatus.TEST_FAILED,
        BenchmarkStatus.CHANGES_REQUESTED,
    )


def benchmark_url(benchmark: Benchmark) -> str:
    """The benchmark's page, also from a worker, where no request gives a host."""
    if has_request_context():
        return url_for("benchmarks.detail", benchmark_id=benchmark.id)
    adapter = current_app.url_map.bind(
        "localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/"
    )
    return adapter.build("benchmarks.detail", {"benchmark_id": benchmark.id})


# What the owner does.


def submit_benchmark(owner: User, data: BenchmarkFields) -> Benchmark:
    """Record a new benchmark in testing with its compatibility test; commit."""
    problem = unverified_problem(owner)
    if problem:
        raise Refusal(problem)
    check_fields(data, owner, current=None)
    benchmark = Benchmark(
        owner_id=owner.id,
        status=BenchmarkStatus.TESTING,
        submitted_at=utcnow(),
        join_policy="never",
        join_allowlist="",
    )
    _apply(benchmark, data)
    try:
        db.session.add(benchmark)
        record_event(owner, "submit", benchmark)  # flushes: the run needs the benchmark's id
    except IntegrityError:
        _name_taken(data)
    _start_test(benchmark, owner)
    _commit_or_refuse(data)
    return benchmark


def update_benchmark(benchmark: Benchmark, data: BenchmarkFields, *, by: User) -> Benchmark:
    """Save the owner's changes and commit; a changed test input, or a failed or sent-back
    benchmark, re-tests."""
    _require_owner(benchmark, by)
    if benchmark.status not in EDITABLE_BENCHMARK_STATUSES:
        raise Refusal(frozen_message(benchmark))
    check_fields(data, by, current=benchmark)
    before = {name: getattr(benchmark, name) for name in _EDITABLE}
    _apply(benchmark, data)
    changed = [
        words for name, words in _EDITABLE.items() if getattr(benchmark, name) != before[name]
    ]
    record_event(
        by, "edit", benchmark, "changed: " + ", ".join(changed) if changed else "nothing changed"
    )
    inputs_changed = any(getattr(benchmark, name) != before[name] for name in _TESTED)
    if benchmark.status != BenchmarkStatus.TESTING or inputs_changed:
        _retest(benchmark, by)
    _commit_or_refuse(data)
    return benchmark


def resubmit(benchmark: Benchmark, *, by: User) -> Benchmark:
    """Send a failed or sent-back benchmark, as it is, to a new test; commit.

    Raises:
        InvalidTransition: the benchmark is testing, awaiting review, approved or rejected.
    """
    _require_owner(benchmark, by)
    check_transition(BENCHMARK_TRANSITIONS, benchmark.status, BenchmarkStatus.TESTING)
    _retest(benchmark, by)
    _commit_or_refuse(BenchmarkFields(name=benchmark.name))
    return benchmark


def _retest(benchmark: Benchmark, by: User) -> None:
    """Move to testing (when not there already) and add a new test, superseding the last."""
    if benchmark.status != BenchmarkStatus.TESTING:
        check_transition(BENCHMARK_TRANSITIONS, benchmark.status, BenchmarkStatus.TESTING)
        benchmark.status = BenchmarkStatus.TESTING
        record_event(by, "resubmit", benchmark)
    benchmark.submitted_at = utcnow()
    # The evidence of the previous test no longer describes what will be reviewed.
    benchmark.results = None
    benchmark.prepared_data_uid = None
    previous = benchmark.run
    _start_test(benchmark, by)
    if previous is not None and not previous.is_finished:
        try:
            request_cancel(previous, by)  # spare a worker a test nobody will look at
        except Refusal:
            pass  # it ended meanwhile; its outcome is ignored as it is no longer current


def _start_test(benchmark: Benchmark, by: User) -> None:
    """Add a new run of the benchmark's containers and point the benchmark to it (no commit).

    The run's job is queued after the caller's commit, which saves the benchmark, the run and
    the pointer together: a run never ends before its benchmark knows it.
    """
    slots = {
        slot: slot_from_container(db.session.get(Container, getattr(benchmark, key)))
        for key, slot in SLOT_FIELDS.items()
    }
    try:
        run = add_run(
            by,
            slots=slots,
            demo_url=benchmark.demo_url,
            demo_sha256=benchmark.demo_sha256,
            kind=RunKind.BENCHMARK,
            benchmark_id=benchmark.id,
        )
    except IntegrityError:
        _name_taken(BenchmarkFields(name=benchmark.name))
    except Refusal as error:
        db.session.rollback()
        raise Refusal(field_errors=_slot_errors(error.errors)) from None
    benchmark.run_id = run.id


def _slot_errors(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    by_slot = {slot: key for key, slot in SLOT_FIELDS.items()}
    return {by_slot.get(slot, FORM): messages for slot, messages in errors.items()}


def _apply(benchmark: Benchmark, data: BenchmarkFields) -> None:
    benchmark.name = normalize_name(data.name)
    benchmark.name_key = name_key(data.name)
    benchmark.description = data.description
    benchmark.docs_url = data.docs_url
    benchmark.demo_url = data.demo_url
    benchmark.demo_sha256 = data.demo_sha256
    benchmark.prep_id = data.prep_id
    benchmark.model_id = data.model_id
    benchmark.evaluator_id = data.evaluator_id
    benchmark.make_operational = data.make_operational


def _require_owner(benchmark: Benchmark, user: User) -> None:
    if not is_owner(benchmark, user):
        raise Refusal("Only the member who submitted this benchmark can change it.")


def frozen_message(benchmark: Benchmark) -> str:
    """Say why the benchmark can no longer be edited."""
    if benchmark.status == BenchmarkStatus.PENDING_APPROVAL:
        return (
            "This benchmark passed its test and waits for an administrator's decision, so it "
            "cannot be edited now. If the administrator asks for changes, you can edit it then."
        )
    if benchmark.status == BenchmarkStatus.APPROVED:
        return "This benchmark is approved: approved benchmarks cannot be edited."
    return "This benchmark was rejected: the decision is final and it cannot be edited."


def _commit_or_refuse(data: BenchmarkFields) -> None:
    try:
        db.session.commit()
    except IntegrityError:
        _name_taken(data)


def _name_taken(data: BenchmarkFields) -> NoReturn:
    # Someone took the name between the check and the write.
    db.session.rollback()
    raise Refusal(
        field_errors={
            "name": [f"The name “{data.name.strip()}” was just taken. Choose another one."]
        }
    ) from None
