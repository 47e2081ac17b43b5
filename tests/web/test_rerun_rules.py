"""Running a run again obeys the rules of starting one: whose containers, in which state."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import BenchmarkStatus, ContainerState, Run, RunKind, RunStatus
from app.services import runs as run_services
from app.services.errors import Refusal
from tests.support.accounts import make_user
from tests.support.benchmarks import make_trio, record_benchmark
from tests.support.runs import fail_run, start_run
from tests.support.web import post_form


def run_count() -> int:
    return db.session.scalar(select(func.count(Run.id)))


def finished_run(user, trio, **kwargs) -> Run:
    run = start_run(user, trio, **kwargs)
    fail_run(run.id, summary="The infer step exited with code 1.")
    return db.session.get(Run, run.id)


def test_an_admin_may_not_rerun_a_members_test_of_containers_in_development(admin_client, member):
    run = finished_run(member, make_trio(member))
    response = post_form(
        admin_client, f"/runs/{run.id}/rerun", {}, page=f"/runs/{run.id}", follow_redirects=True
    )
    text = response.get_data(as_text=True)
    assert "cannot be run again as it was" in text
    assert "still in development" in text
    assert run_count() == 1


def test_an_admin_may_rerun_a_members_test_of_operational_containers(admin, member):
    trio = make_trio(member, operational=True)
    again = run_services.rerun(finished_run(member, trio), admin)
    assert again.requester_id == admin.id and again.status == RunStatus.QUEUED


def test_a_container_marked_invalid_since_stops_the_rerun(member_client, member):
    trio = make_trio(member)
    run = finished_run(member, trio)
    trio[1].is_valid = False
    db.session.commit()
    response = post_form(
        member_client, f"/runs/{run.id}/rerun", {}, page=f"/runs/{run.id}", follow_redirects=True
    )
    assert "was marked invalid" in response.get_data(as_text=True)
    assert run_count() == 1


def test_the_rule_is_read_when_the_run_is_repeated_not_copied_from_the_first(member):
    """The rule is read at the time of the re-run, not copied from the first run."""
    olga = make_user("olga@example.org", "Olga Other")
    trio = make_trio(olga, operational=True)
    run = finished_run(member, trio)
    trio[0].state = ContainerState.DEVELOPMENT  # as if it had never been made operational
    db.session.commit()
    with pytest.raises(Refusal, match="belongs to another member"):
        run_services.rerun(run, member)
    assert run_count() == 1


def _benchmark_run(owner, status: BenchmarkStatus) -> Run:
    benchmark = record_benchmark(owner, make_trio(owner), "Chest 2025", status)
    return finished_run(
        owner, _trio_of(benchmark), kind=RunKind.BENCHMARK, benchmark_id=benchmark.id
    )


def _trio_of(benchmark):
    return (benchmark.prep, benchmark.model, benchmark.evaluator)


def test_an_admin_reruns_a_benchmark_test_with_the_owners_containers_in_development(admin, member):
    run = _benchmark_run(member, BenchmarkStatus.TEST_FAILED)
    again = run_services.rerun(run, admin)
    assert again.kind == RunKind.BENCHMARK and again.benchmark_id == run.benchmark_id
    assert again.requester_id == admin.id


def test_a_rejected_benchmarks_test_is_not_run_again(admin, member):
    run = _benchmark_run(member, BenchmarkStatus.REJECTED)
    with pytest.raises(Refusal, match="was rejected"):
        run_services.rerun(run, admin)
    with pytest.raises(Refusal, match="was rejected"):
        run_services.rerun(run, member)
    assert run_count() == 1


def test_only_the_owner_or_an_admin_reruns_a_benchmark_test(member):
    run = _benchmark_run(member, BenchmarkStatus.APPROVED)
    olga = make_user("olga@example.org", "Olga Other")
    with pytest.raises(Refusal, match="Only the owner"):
        run_services.rerun(run, olga)
    assert run_count() == 1
