"""Asking to join an approved benchmark with a model, and what the model's test decides."""

import re
from html import unescape

import pytest
from flask import g
from sqlalchemy import select

from app.extensions import db
from app.models import (
    BenchmarkStatus,
    JoinRequest,
    JoinRequestStatus,
    Role,
    Run,
    RunKind,
    RunStatus,
)
from app.services import join_requests
from app.services.errors import Refusal
from app.services.join_policy import set_join_policy
from app.services.join_requests import ask_to_join
from tests.support.accounts import make_user, signed_in
from tests.support.containers import make_container
from tests.support.joins import MODEL_RESULTS, finish, join_actions
from tests.support.records import count, notifications_of
from tests.support.web import post_form

# Asking


def test_asking_creates_a_request_in_testing_and_a_run_of_the_benchmark_with_the_model(
    app, member, benchmark, model
):
    browser = signed_in(app, member)
    response = post_form(
        browser,
        f"/benchmarks/{benchmark.id}/join",
        {"model_id": str(model.id)},
        page=f"/benchmarks/{benchmark.id}",
    )
    request = db.session.scalars(select(JoinRequest)).one()
    run = db.session.get(Run, request.run_id)
    assert response.status_code == 302 and response.location.endswith(f"/runs/{run.id}")
    assert request.status == JoinRequestStatus.TESTING and request.requested_by_id == member.id
    assert run.kind == RunKind.JOIN_REQUEST and run.benchmark_id == benchmark.id
    assert (run.prep_id, run.model_id, run.evaluator_id) == (
        benchmark.prep_id,
        model.id,
        benchmark.evaluator_id,
    )
    assert run.demo_url == benchmark.demo_url and run.demo_sha256 == benchmark.demo_sha256
    assert run.dispatched and join_actions(request)[0][0] == "ask_to_join"


def test_a_kept_join_form_carries_each_session_its_own_token(app, member, benchmark, model):
    path = f"/benchmarks/{benchmark.id}"
    first, second = signed_in(app, member), signed_in(app, member)

    def joining_token(browser) -> str:
        for cached in ("_login_user", "csrf_token"):  # the test's app context outlives requests
            g.pop(cached, None)
        section = browser.get(path).text.split('<section id="joining"', 1)[1]
        return re.search(r'name="csrf_token" value="([^"]+)"', section)[1]

    first_token = joining_token(first)
    second_token = joining_token(second)  # the same member's section, kept from the first view
    assert first_token != second_token
    response = second.post(
        f"{path}/join", data={"csrf_token": second_token, "model_id": str(model.id)}
    )
    assert response.status_code == 302
    assert db.session.scalars(select(JoinRequest)).one().model_id == model.id


def test_the_page_explains_what_asking_does(app, member, benchmark, model):
    body = unescape(signed_in(app, member).get(f"/benchmarks/{benchmark.id}").text)
    assert "Ask to join with a model" in body and "Mia DenseNet" in body
    assert "data preparator and evaluator" in body and "owner" in body


def test_the_benchmark_page_lists_own_models_and_links_to_the_shared_ones(
    app, member, benchmark, model
):
    other = make_user("otto@example.org", "Otto")
    shared = make_container(other, "Otto released", operational=True)
    browser = signed_in(app, member)
    page = unescape(browser.get(f"/benchmarks/{benchmark.id}").text)
    # Every member opens this page; the models all the others share can be thousands.
    assert "Mia DenseNet" in page and "Otto released" not in page
    assert f'href="/benchmarks/{benchmark.id}/join"' in page
    choose = unescape(browser.get(f"/benchmarks/{benchmark.id}/join").text)
    assert "Mia DenseNet (in development)" in choose and "Otto released (by Otto)" in choose
    response = post_form(browser, f"/benchmarks/{benchmark.id}/join", {"model_id": str(shared.id)})
    assert response.status_code == 302 and count(JoinRequest) == 1


def test_the_ask_page_of_a_benchmark_not_approved_sends_back_to_the_benchmark(
    app, owner, benchmark
):
    benchmark.status = BenchmarkStatus.PENDING_APPROVAL
    db.session.commit()
    response = signed_in(app, owner).get(f"/benchmarks/{benchmark.id}/join")
    assert response.status_code == 302
    assert response.location.endswith(f"/benchmarks/{benchmark.id}#joining")


@pytest.mark.parametrize(
    "status", [BenchmarkStatus.PENDING_APPROVAL, BenchmarkStatus.REJECTED, BenchmarkStatus.TESTING]
)
def test_asking_to_join_a_benchmark_that_is_not_approved_is_refused(
    owner, member, benchmark, model, status
):
    benchmark.status = status
    db.session.commit()
    with pytest.raises(Refusal, match="not approved"):
        ask_to_join(benchmark, model, member)
    assert count(JoinRequest) == 0 and count(Run) == 0


def test_a_container_that_is_not_a_model_is_refused(member, benchmark):
    evaluator = make_container(member, "Mia metrics", Role.EVALUATOR)
    with pytest.raises(Refusal, match="not a model"):
        ask_to_join(benchmark, evaluator, member)
    assert count(JoinRequest) == 0


def test_someone_elses_model_in_development_is_refused_but_an_operational_one_is_usable(
    app, member, benchmark
):
    other = make_user("otto@example.org", "Otto")
    mine_not = make_container(other, "Otto draft")
    with pytest.raises(Refusal, match="still in development"):
        ask_to_join(benchmark, mine_not, member)
    shared = make_container(other, "Otto released", operational=True)
    assert ask_to_join(benchmark, shared, member).status == JoinRequestStatus.TESTING


def test_a_second_open_request_for_the_same_model_is_refused(member, benchmark, model):
    first = ask_to_join(benchmark, model, member)
    with pytest.raises(Refusal, match="already has a request"):
        ask_to_join(benchmark, model, member)
    finish(first)  # pending now: still open
    with pytest.raises(Refusal, match="already has a request"):
        ask_to_join(benchmark, model, member)
    assert count(JoinRequest) == 1


def test_two_askings_racing_past_the_check_leave_one_request_and_one_run(
    member, benchmark, model, monkeypatch
):
    first = ask_to_join(benchmark, model, member)
    check = join_requests._duplicate_problem
    calls = []

    def late_check(*args):
        # The first check runs before the other asking is committed: it sees nothing.
        calls.append(args)
        return None if len(calls) == 1 else check(*args)

    monkeypatch.setattr(join_requests, "_duplicate_problem", late_check)
    with pytest.raises(Refusal, match="already has a request"):
        ask_to_join(benchmark, model, member)
    assert len(calls) == 2
    assert db.session.scalars(select(JoinRequest.id)).all() == [first.id]
    assert db.session.scalars(select(Run.id)).all() == [first.run_id]
    # Once the first one has failed its test, the model may ask again.
    finish(first, RunStatus.FAILED)
    assert ask_to_join(benchmark, model, member).status == JoinRequestStatus.TESTING


def test_a_refused_ask_through_the_page_says_why(app, member, benchmark, model):
    ask_to_join(benchmark, model, member)
    browser = signed_in(app, member)
    response = post_form(
        browser,
        f"/benchmarks/{benchmark.id}/join",
        {"model_id": str(model.id)},
        page=f"/benchmarks/{benchmark.id}",
    )
    # The ask page answers, the reason next to the choice, the model still chosen.
    assert response.status_code == 200
    field = unescape(response.text).split('id="model_id"', 1)[1].split("</div>", 1)[0]
    assert "already has a request" in field
    assert f'<option selected value="{model.id}">' in field
    assert count(JoinRequest) == 1


# The test's outcome


def test_a_passing_test_makes_the_request_pending_with_its_results_and_tells_the_owner(
    owner, member, benchmark, model
):
    request = finish(ask_to_join(benchmark, model, member))
    assert request.status == JoinRequestStatus.PENDING and request.results == MODEL_RESULTS
    assert "asks to join your benchmark" in notifications_of(owner)[-1].message
    assert "owner now decides" in notifications_of(member)[-1].message
    assert [a for a, _, _ in join_actions(request)] == ["ask_to_join", "test_passed"]


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.ERROR, RunStatus.CANCELED])
def test_a_test_that_does_not_pass_ends_test_failed(owner, member, benchmark, model, status):
    request = finish(ask_to_join(benchmark, model, member), status)
    assert request.status == JoinRequestStatus.TEST_FAILED and request.results is None
    assert "exited with code 2" in notifications_of(member)[-1].message
    assert notifications_of(owner) == []
    # A failed request is closed: the model may ask again.
    assert ask_to_join(benchmark, model, member).id != request.id


def test_the_owners_own_model_is_approved_automatically(owner, benchmark):
    own = make_container(owner, "Olga second model")
    request = finish(ask_to_join(benchmark, own, owner))
    assert request.status == JoinRequestStatus.APPROVED and request.decided_by_id is None
    assert "belongs to the benchmark's owner" in request.reason


def test_policy_always_approves_every_passing_model(owner, member, benchmark, model):
    set_join_policy(benchmark, "always", "", owner)
    request = finish(ask_to_join(benchmark, model, member))
    assert request.status == JoinRequestStatus.APPROVED
    assert "has joined" in notifications_of(member)[-1].message
    assert "joined your benchmark" in notifications_of(owner)[-1].message


def test_policy_list_approves_listed_emails_only(owner, member, benchmark, model):
    set_join_policy(benchmark, "list", "someone@example.org\nMEMBER@example.org", owner)
    listed = finish(ask_to_join(benchmark, model, member))
    assert listed.status == JoinRequestStatus.APPROVED

    stranger = make_user("sam@example.org", "Sam")
    other_model = make_container(stranger, "Sam net")
    unlisted = finish(ask_to_join(benchmark, other_model, stranger))
    assert unlisted.status == JoinRequestStatus.PENDING


def test_policy_never_leaves_the_decision_to_the_owner(owner, member, benchmark, model):
    assert benchmark.join_policy == "never"
    assert finish(ask_to_join(benchmark, model, member)).status == JoinRequestStatus.PENDING
