"""Deciding on join requests, the pages that show them, and the owner's join policy."""

import re
from html import unescape

import pytest

from app.extensions import db
from app.models import BenchmarkStatus, JoinRequest, JoinRequestStatus
from app.services.errors import Refusal
from app.services.join_policy import set_join_policy
from app.services.join_requests import ask_to_join, decide_join_request
from tests.support.accounts import make_user, signed_in
from tests.support.containers import make_container
from tests.support.joins import decide, finish, join_actions
from tests.support.records import count, notifications_of
from tests.support.web import post_form

# Decisions


def test_the_owner_approves_through_the_page(app, owner, member, pending):
    response = decide(signed_in(app, owner), pending, "approve")
    assert response.status_code == 302
    db.session.expire_all()
    assert pending.status == JoinRequestStatus.APPROVED and pending.decided_by_id == owner.id
    assert join_actions(pending)[-1] == ("approve", owner.id, None)
    assert "has joined" in notifications_of(member)[-1].message


def test_an_admin_rejects_with_a_reason_and_the_asker_reads_it(app, admin, member, pending):
    browser = signed_in(app, admin)
    decide(browser, pending, "reject")  # no reason: refused
    db.session.expire_all()
    assert pending.status == JoinRequestStatus.PENDING
    decide(browser, pending, "reject", "Trained on the test data.")
    db.session.expire_all()
    assert pending.status == JoinRequestStatus.REJECTED
    assert pending.reason == "Trained on the test data."
    assert join_actions(pending)[-1] == ("reject", admin.id, "Trained on the test data.")
    assert "Trained on the test data." in notifications_of(member)[-1].message


def test_a_refused_decision_shows_its_page_with_the_reason_typed_and_the_error_by_it(
    app, owner, pending
):
    browser = signed_in(app, owner)
    answer = decide(browser, pending, "reject")
    assert answer.status_code == 200
    reason_field = unescape(answer.text).split('id="reason-help"', 1)[1].split("</form>", 1)[0]
    assert "Please give the reason for the rejection" in reason_field
    too_long = "Trained on the test hospitals' data. " * 140  # over 5000 characters
    answer = decide(browser, pending, "reject", too_long)
    assert answer.status_code == 200
    assert "Keep it under 5000 characters." in answer.text
    assert too_long.strip() in unescape(answer.text)  # nothing typed is lost
    db.session.expire_all()
    assert pending.status == JoinRequestStatus.PENDING


def test_the_request_page_shows_both_results_to_the_owner_only(app, owner, member, pending):
    url = f"/benchmarks/join-requests/{pending.id}/decide"
    page = signed_in(app, owner).get(url)
    assert page.status_code == 200
    assert "Reference model" in page.text and "per_class.pneumonia" in page.text
    assert 'name="reject"' in page.text
    other = make_user("otto@example.org", "Otto Other")
    assert signed_in(app, other).get(url).status_code == 404  # as if there were none
    asker_page = signed_in(app, member).get(url)
    assert asker_page.status_code == 403  # the asker reads the outcome on the benchmark's page


def test_rejecting_without_a_reason_is_refused_by_the_service(owner, pending):
    with pytest.raises(Refusal, match="reason"):
        decide_join_request(pending, False, owner, "  ")
    assert pending.status == JoinRequestStatus.PENDING


def test_the_asker_cannot_decide_their_own_request_even_as_admin(app, admin, benchmark):
    shared = make_container(admin, "Ada model")
    request = finish(ask_to_join(benchmark, shared, admin))
    assert request.status == JoinRequestStatus.PENDING
    assert decide(signed_in(app, admin), request, "approve").status_code == 403
    db.session.expire_all()
    assert request.status == JoinRequestStatus.PENDING


def test_the_asker_gets_403_deciding_on_their_request(app, member, pending):
    assert decide(signed_in(app, member), pending, "approve").status_code == 403
    db.session.expire_all()
    assert pending.status == JoinRequestStatus.PENDING


def test_a_member_who_is_neither_owner_nor_admin_cannot_decide(app, pending):
    nosy = make_user("nosy@example.org", "Nosy")
    # Another member's request, of a benchmark not theirs: as if it did not exist.
    assert decide(signed_in(app, nosy), pending, "approve").status_code == 404
    db.session.expire_all()
    assert pending.status == JoinRequestStatus.PENDING
    with pytest.raises(PermissionError):
        decide_join_request(pending, True, nosy)


def test_after_a_rejection_a_new_request_is_a_new_record(owner, member, benchmark, model, pending):
    decide_join_request(pending, False, owner, "Not yet.")
    again = ask_to_join(benchmark, model, member)
    assert again.id != pending.id and count(JoinRequest) == 2
    db.session.expire_all()
    assert pending.status == JoinRequestStatus.REJECTED


def test_no_model_joins_a_benchmark_whose_approval_was_revoked(owner, benchmark, pending):
    benchmark.status = BenchmarkStatus.REJECTED
    db.session.commit()
    with pytest.raises(Refusal, match="no longer approved"):
        decide_join_request(pending, True, owner)
    assert pending.status == JoinRequestStatus.PENDING


def test_an_approved_model_cannot_ask_again(owner, member, benchmark, model, pending):
    decide_join_request(pending, True, owner)
    with pytest.raises(Refusal, match="already joined"):
        ask_to_join(benchmark, model, member)


# Pages


def test_owner_sees_the_results_of_the_reference_model_next_to_this_model(app, owner, pending):
    body = unescape(signed_in(app, owner).get(f"/benchmarks/{pending.benchmark_id}").text)
    assert "Requests to join" in body and "Mia DenseNet" in body and "Mia Member" in body
    assert f"/runs/{pending.run_id}" in body
    compare = body[body.index("Requests to join") :]
    row = compare[compare.index("per_class.pneumonia") :]
    assert row.index("0.89") < row.index("0.84") < row.index("</tr>")  # reference, this model
    assert 'name="approve"' in body and 'name="reject"' in body


def test_members_see_their_own_requests_only(app, member, pending):
    body = unescape(signed_in(app, member).get(f"/benchmarks/{pending.benchmark_id}").text)
    assert "Your requests" in body and "Awaiting the owner's decision" in body
    yours = body[body.index("Your requests") :]
    assert f'/containers/{pending.model_id}">Mia DenseNet</a>' in yours
    assert f"/runs/{pending.run_id}" in yours
    assert "Requests to join" not in body and 'name="approve"' not in body
    catalogue = signed_in(app, member).get("/benchmarks/").text
    assert 'href="/benchmarks/join-requests">My join requests</a>' in catalogue
    mine = unescape(signed_in(app, member).get("/benchmarks/join-requests").text)
    assert "Chest 2025" in mine and "Mia DenseNet" in mine


def test_owner_sets_the_policy_and_bad_emails_are_refused(app, owner, benchmark):
    browser = signed_in(app, owner)
    url = f"/benchmarks/{benchmark.id}/join-policy"
    page = f"/benchmarks/{benchmark.id}"
    assert browser.get(url).status_code == 200
    typed = "ana@x.org, not-an-email\nbo@y.org"
    refused = post_form(browser, url, {"policy": "list", "allowlist": typed}, page=page)
    # The policy page answers: the error by the list, everything typed still there.
    assert refused.status_code == 200
    allowlist = unescape(refused.text).split('<label for="allowlist"', 1)[1].split("</div>", 1)[0]
    assert "These are not email addresses: not-an-email" in allowlist
    assert typed in allowlist
    assert re.search(r'<input checked [^>]*value="list"', refused.text)
    db.session.expire_all()
    assert benchmark.join_policy == "never"
    post_form(browser, url, {"policy": "list", "allowlist": "Ana@X.org, bo@y.org"}, page=page)
    db.session.expire_all()
    assert benchmark.join_policy == "list"
    assert benchmark.join_allowlist == "ana@x.org\nbo@y.org"


def test_a_line_that_is_not_an_email_is_named_whole(owner, benchmark):
    with pytest.raises(Refusal, match="not email addresses: ana at x dot org"):
        set_join_policy(benchmark, "list", "bo@y.org\r\nana at x dot org ; cy@z.org", owner)


def test_a_member_cannot_set_the_policy(app, member, benchmark):
    with pytest.raises(PermissionError):
        set_join_policy(benchmark, "always", "", member)
    assert signed_in(app, member).get(f"/benchmarks/{benchmark.id}/join-policy").status_code == 403
