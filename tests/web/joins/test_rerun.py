"""A join test run again is checked as a new join test: the model's owner, the benchmark's state."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import BenchmarkStatus, Run, RunKind
from app.services import runs as run_services
from app.services.errors import Refusal
from app.services.join_requests import ask_to_join
from tests.support.accounts import signed_in
from tests.support.joins import finish
from tests.support.web import post_form


def run_count() -> int:
    return db.session.scalar(select(func.count(Run.id)))


@pytest.fixture
def join_run(member, benchmark, model) -> Run:
    request = finish(ask_to_join(benchmark, model, member))
    return db.session.get(Run, request.run_id)


def test_the_benchmark_owner_may_not_rerun_a_join_test_of_a_model_in_development(
    app, owner, join_run
):
    client = signed_in(app, owner)
    response = post_form(
        client,
        f"/runs/{join_run.id}/rerun",
        {},
        page=f"/runs/{join_run.id}",
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert "Mia DenseNet belongs to another member and is still in development" in text
    assert run_count() == 1


def test_the_asker_reruns_the_join_test_with_the_owners_containers_in_development(
    member, benchmark, join_run
):
    assert not benchmark.prep.is_operational  # the owner's, used for the owner
    again = run_services.rerun(join_run, member)
    assert again.kind == RunKind.JOIN_REQUEST and again.requester_id == member.id


def test_a_join_test_is_not_run_again_once_the_benchmark_is_no_longer_approved(
    member, benchmark, join_run
):
    benchmark.status = BenchmarkStatus.REJECTED
    db.session.commit()
    with pytest.raises(Refusal, match="no longer approved"):
        run_services.rerun(join_run, member)
    assert run_count() == 1
