"""The administrator's review queue, the evidence page and every decision on a benchmark."""

from datetime import timedelta
from html import unescape

import pytest

from app.extensions import db
from app.models import BenchmarkStatus, ContainerState, RunStatus, utcnow
from app.services.errors import Refusal
from app.services.reviews import approve_benchmark, request_changes
from app.settings import reconfigure
from tests.support.accounts import make_user, signed_in
from tests.support.benchmarks import (
    UID,
    actions,
    finish_test,
    form_data,
    make_trio,
    only_benchmark,
    record_benchmark,
    serve_demo,
    submit,
)
from tests.support.containers import make_container
from tests.support.records import notifications_of
from tests.support.web import post_form

QUEUE = "/admin/review/"


@pytest.fixture
def pending(app, member, assets):
    """A benchmark submitted by the member whose test passed: it waits for review."""
    trio = make_trio(member)
    submit(signed_in(app, member), form_data(trio, serve_demo(assets)))
    benchmark = only_benchmark()
    finish_test(benchmark)
    return benchmark


@pytest.fixture
def admin_browser(app, admin, pending):
    return signed_in(app, admin)


def decide(client, benchmark, decision: str, reason: str = "", **kwargs):
    url = f"/admin/review/{benchmark.id}"
    return post_form(client, url, {"decision": decision, "reason": reason}, **kwargs)


def status_of(benchmark) -> BenchmarkStatus:
    db.session.expire_all()
    return benchmark.status


# The queue


def test_members_get_403_on_the_review_pages(app, member, pending):
    browser = signed_in(app, member)
    assert browser.get(QUEUE).status_code == 403
    assert browser.get(f"/admin/review/{pending.id}").status_code == 403


def test_a_member_posting_a_decision_gets_403_and_nothing_changes(app, member, pending):
    browser = signed_in(app, member)
    response = post_form(
        browser,
        f"/admin/review/{pending.id}",
        {"decision": "approve", "reason": ""},
        page=f"/benchmarks/{pending.id}",
    )
    assert response.status_code == 403
    assert status_of(pending) == BenchmarkStatus.PENDING_APPROVAL


def test_queue_lists_benchmarks_awaiting_review_oldest_first(app, admin, member):
    trio = make_trio(member)
    now = utcnow()
    record_benchmark(member, trio, "Newest", BenchmarkStatus.PENDING_APPROVAL, submitted_at=now)
    record_benchmark(
        member, trio, "Oldest", BenchmarkStatus.PENDING_APPROVAL, submitted_at=now - timedelta(2)
    )
    record_benchmark(
        member, trio, "Middle", BenchmarkStatus.PENDING_APPROVAL, submitted_at=now - timedelta(1)
    )
    record_benchmark(member, trio, "Still testing", BenchmarkStatus.TESTING)
    record_benchmark(member, trio, "Done", BenchmarkStatus.APPROVED)
    body = signed_in(app, admin).get(QUEUE).get_data(as_text=True)
    assert body.index("Oldest") < body.index("Middle") < body.index("Newest")
    assert "Still testing" not in body and ">Done<" not in body


def test_queue_is_paginated(app, admin, member):
    reconfigure(app, PAGE_SIZE=2)
    trio = make_trio(member)
    for day in range(3):
        record_benchmark(
            member,
            trio,
            f"Bench {day}",
            BenchmarkStatus.PENDING_APPROVAL,
            submitted_at=utcnow() - timedelta(days=10 - day),
        )
    browser = signed_in(app, admin)
    first = browser.get(QUEUE).get_data(as_text=True)
    assert "Bench 0" in first and "Bench 2" not in first and "Page 1 of 2" in first
    assert "Bench 2" in browser.get(QUEUE + "?page=2").get_data(as_text=True)


# The evidence


def test_review_page_shows_the_evidence_side_by_side(admin_browser, pending):
    run = pending.run
    body = unescape(admin_browser.get(f"/admin/review/{pending.id}").get_data(as_text=True))
    assert "per_class.normal" in body and "0.93" in body  # results, nested keys flattened
    assert "labels.pneumonia" in body  # statistics
    assert "Sanity check" in body and "Whole test" in body  # step durations
    assert run.hashes["demo"] in body and run.hashes["data_preparator.config"] in body
    assert run.digests["data_preparator"] in body
    assert UID in body
    assert pending.prep.config_url in body
    for container in (pending.prep, pending.model, pending.evaluator):
        assert f'href="/containers/{container.id}"' in body
    assert f'href="/runs/{run.id}"' in body and f'href="/runs/{run.id}/log.txt"' in body
    assert pending.owner.email in body
    assert 'value="approve"' in body and 'value="revoke"' not in body


# Decisions


def test_approval_makes_it_public_notifies_and_freezes_the_owners_containers(
    app, admin_browser, admin, member, pending
):
    response = decide(admin_browser, pending, "approve")
    assert response.headers["Location"] == QUEUE
    assert status_of(pending) == BenchmarkStatus.APPROVED
    assert actions(pending)[-1] == ("approve", admin.id, None)
    assert all(
        c.state == ContainerState.OPERATIONAL
        for c in (pending.prep, pending.model, pending.evaluator)
    )
    note = notifications_of(member)[-1]
    assert "is approved" in note.message and note.url == f"/benchmarks/{pending.id}"
    stranger = make_user("olga@example.org", "Olga")
    assert signed_in(app, stranger).get(f"/benchmarks/{pending.id}").status_code == 200


def test_approval_without_the_operational_choice_leaves_containers_alone(admin, member):
    trio = make_trio(member)
    benchmark = record_benchmark(member, trio, "Keep drafts", BenchmarkStatus.PENDING_APPROVAL)
    benchmark.make_operational = False
    db.session.commit()
    approve_benchmark(benchmark, by=admin)
    assert all(c.state == ContainerState.DEVELOPMENT for c in trio)


def test_approval_never_freezes_another_members_container(admin, member):
    other = make_user("olga@example.org", "Olga")
    shared_model = make_container(other, "Olga model", operational=True)
    prep, _, evaluator = make_trio(member)
    benchmark = record_benchmark(
        member, (prep, shared_model, evaluator), "Mixed", BenchmarkStatus.PENDING_APPROVAL
    )
    benchmark.make_operational = True
    other_draft = make_container(other, "Olga draft")  # untouched bystander
    db.session.commit()
    approve_benchmark(benchmark, by=admin)
    assert prep.state == ContainerState.OPERATIONAL
    assert other_draft.state == ContainerState.DEVELOPMENT
    assert [a for a, _, _ in actions(benchmark)] == ["approve"]


def test_changes_requested_with_a_reason_goes_back_to_the_owner_who_resubmits(
    app, admin_browser, admin, member, pending
):
    decide(admin_browser, pending, "request_changes", "Add the AUC per class")
    assert status_of(pending) == BenchmarkStatus.CHANGES_REQUESTED
    assert actions(pending)[-1] == ("request_changes", admin.id, "Add the AUC per class")
    note = notifications_of(member)[-1]
    assert "Add the AUC per class." in note.message
    owner = signed_in(app, member)
    detail = unescape(owner.get(f"/benchmarks/{pending.id}").get_data(as_text=True))
    assert "Add the AUC per class" in detail and f"/benchmarks/{pending.id}/edit" in detail
    old_run = pending.run_id
    data = form_data((pending.prep, pending.model, pending.evaluator), pending.demo_url)
    post_form(owner, f"/benchmarks/{pending.id}/edit", data)
    assert status_of(pending) == BenchmarkStatus.TESTING
    assert pending.run_id != old_run and pending.results is None
    finish_test(pending)
    assert status_of(pending) == BenchmarkStatus.PENDING_APPROVAL


@pytest.mark.parametrize("decision", ["request_changes", "reject"])
def test_a_decision_against_the_owner_without_a_reason_is_refused(
    admin_browser, member, pending, decision
):
    response = decide(admin_browser, pending, decision, "   ")
    body = unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert 'id="reason-error"' in body and "Please " in body
    assert status_of(pending) == BenchmarkStatus.PENDING_APPROVAL
    assert [a for a, _, _ in actions(pending)][-1] == "test_passed"
    assert len(notifications_of(member)) == 1  # only the "test passed" one


def test_the_service_refuses_a_missing_reason_and_a_member(admin, member, pending):
    with pytest.raises(Refusal) as refused:
        request_changes(pending, by=admin, reason=None)
    assert "reason" in refused.value.errors
    with pytest.raises(PermissionError):
        approve_benchmark(pending, by=member)
    assert status_of(pending) == BenchmarkStatus.PENDING_APPROVAL


def test_rejection_with_a_reason_is_final(app, admin_browser, admin, member, pending):
    decide(admin_browser, pending, "reject", "The demo data holds patient names.")
    assert status_of(pending) == BenchmarkStatus.REJECTED
    assert actions(pending)[-1] == ("reject", admin.id, "The demo data holds patient names.")
    assert "was rejected" in notifications_of(member)[-1].message
    for decision in ("approve", "request_changes", "revoke"):
        response = decide(admin_browser, pending, decision, "Try anyway", follow_redirects=True)
        assert "This decision is not possible" in unescape(response.get_data(as_text=True))
        assert status_of(pending) == BenchmarkStatus.REJECTED
    owner = signed_in(app, member)
    response = owner.get(f"/benchmarks/{pending.id}/edit", follow_redirects=True)
    assert "the decision is final" in response.get_data(as_text=True)
    post_form(owner, f"/benchmarks/{pending.id}/retest", {}, page=f"/benchmarks/{pending.id}")
    assert status_of(pending) == BenchmarkStatus.REJECTED


def test_revoking_an_approval_needs_a_reason_and_rejects(admin_browser, admin, member, pending):
    decide(admin_browser, pending, "approve")
    page = unescape(admin_browser.get(f"/admin/review/{pending.id}").get_data(as_text=True))
    assert 'value="revoke"' in page and 'value="approve"' not in page
    decide(admin_browser, pending, "revoke", "")
    assert status_of(pending) == BenchmarkStatus.APPROVED
    decide(admin_browser, pending, "revoke", "The evaluator was found to leak labels.")
    assert status_of(pending) == BenchmarkStatus.REJECTED
    assert actions(pending)[-1] == ("revoke", admin.id, "The evaluator was found to leak labels.")
    assert "approval of your benchmark" in notifications_of(member)[-1].message


def test_an_approved_benchmark_is_not_rejected_without_the_revoke_decision(admin_browser, pending):
    decide(admin_browser, pending, "approve")
    response = decide(admin_browser, pending, "reject", "Changed my mind", follow_redirects=True)
    assert "This decision is not possible" in unescape(response.get_data(as_text=True))
    assert status_of(pending) == BenchmarkStatus.APPROVED


def test_approving_a_benchmark_whose_test_failed_is_refused(app, admin, member, assets):
    submit(signed_in(app, member), form_data(make_trio(member), serve_demo(assets)))
    benchmark = only_benchmark()
    finish_test(benchmark, RunStatus.FAILED)
    browser = signed_in(app, admin)
    response = decide(browser, benchmark, "approve", follow_redirects=True)
    assert "This decision is not possible" in unescape(response.get_data(as_text=True))
    assert status_of(benchmark) == BenchmarkStatus.TEST_FAILED
    assert "approve" not in [a for a, _, _ in actions(benchmark)]
