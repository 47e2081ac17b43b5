"""Submitting, testing, editing and seeing benchmarks, through the pages a member uses."""

import re
from html import unescape

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Benchmark, BenchmarkStatus, Role, Run, RunKind, RunStatus
from app.services import runs as run_services
from app.services.benchmarks import BenchmarkFields, submit_benchmark, update_benchmark
from app.services.errors import Refusal
from app.services.queue import get_queue
from tests.support.accounts import make_user, sign_in_as, signed_in
from tests.support.benchmarks import (
    DEMO_HASH,
    NEW,
    RESULTS,
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
from tests.support.records import count, notifications_of
from tests.support.web import post_form


def error_of(body: str, field_id: str) -> str:
    """The text of the error shown next to a field."""
    match = re.search(rf'<div class="error" id="{field_id}-error">(.*?)</div>', body, re.S)
    return unescape(match.group(1)) if match else ""


@pytest.fixture
def trio(member):
    return make_trio(member)


@pytest.fixture
def demo(assets):
    return serve_demo(assets)


@pytest.fixture
def submitted(member_client, trio, demo):
    """A benchmark submitted through the form, its test queued."""
    submit(member_client, form_data(trio, demo))
    return only_benchmark()


# Submission


def test_form_explains_the_demo_archive_and_offers_only_usable_containers(
    member_client, member, trio
):
    other = make_user("olga@example.org", "Olga")
    make_container(other, "Olga shared prep", operational=True, role=trio[0].role)
    make_container(other, "Olga draft prep", role=trio[0].role)
    body = unescape(member_client.get(NEW).get_data(as_text=True))
    assert "paths.yaml" in body and "tar -czf demo_data.tar.gz demo_data paths.yaml" in body
    prep_select = re.search(r'<select[^>]*name="prep_id"[^>]*>(.*?)</select>', body, re.S)[1]
    assert "Chest prep" in prep_select and "Olga shared prep" in prep_select
    assert "Olga draft prep" not in prep_select
    assert "Chest model" not in prep_select
    assert "E.g. Chest X-ray pneumonia detection 2025" in body


def test_a_role_with_nothing_to_choose_says_to_register_one_first(member_client, member, demo):
    make_container(member, "Mia prep", role=Role.DATA_PREPARATOR)
    body = unescape(member_client.get(NEW).get_data(as_text=True))
    assert "No model to choose yet" in body and "No evaluator to choose yet" in body
    data = {"name": "Chest 2026", "description": "Pneumonia.", "demo_url": demo}
    response = submit(member_client, data)
    body = response.get_data(as_text=True)
    assert "You have no model yet" in error_of(body, "model_id")
    assert "register yours first" in error_of(body, "evaluator_id")
    assert "Choose one of the containers in the list." in error_of(body, "prep_id")
    assert count(Benchmark) == 0 and count(Run) == 0


def test_submission_records_a_testing_benchmark_and_queues_its_test(
    member_client, member, trio, demo
):
    response = submit(member_client, form_data(trio, demo))
    benchmark = only_benchmark()
    assert benchmark.status == BenchmarkStatus.TESTING
    run = db.session.get(Run, benchmark.run_id)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/runs/{run.id}"
    assert run.kind == RunKind.BENCHMARK and run.benchmark_id == benchmark.id
    assert run.requester_id == member.id and run.demo_url == demo and run.dispatched
    assert (run.prep_id, run.model_id, run.evaluator_id) == tuple(c.id for c in trio)
    assert get_queue().get_job_ids() == [f"run-{run.id}"]
    assert actions(benchmark) == [("submit", member.id, None)]
    page = member_client.get(response.headers["Location"], follow_redirects=True)
    assert "its compatibility test has started" in unescape(page.get_data(as_text=True))


def test_a_name_taken_in_another_case_is_refused(member_client, member, trio, demo):
    record_benchmark(member, trio, "Chest X-ray Pneumonia 2025", BenchmarkStatus.REJECTED)
    response = submit(member_client, form_data(trio, demo, name="CHEST x-ray pneumonia 2025"))
    assert "is taken" in error_of(response.get_data(as_text=True), "name")
    assert count(Benchmark) == 1 and count(Run) == 0


def test_a_container_of_the_wrong_role_is_refused(member_client, trio, demo):
    prep, model, _ = trio
    response = submit(member_client, form_data(trio, demo, prep_id=str(model.id)))
    message = error_of(response.get_data(as_text=True), "prep_id")
    assert "“Chest model” is a model, not a data preparator" in message
    assert count(Benchmark) == 0 and count(Run) == 0


def test_another_members_development_container_is_refused(member_client, member, trio, demo):
    other = make_user("olga@example.org", "Olga")
    draft = make_container(other, "Olga draft model")
    response = submit(member_client, form_data(trio, demo, model_id=str(draft.id)))
    assert "belongs to another member" in error_of(response.get_data(as_text=True), "model_id")
    assert count(Benchmark) == 0
    data = BenchmarkFields.from_mapping(form_data(trio, demo, model_id=draft.id))
    with pytest.raises(Refusal) as refused:  # the service refuses it too
        submit_benchmark(member, data)
    assert "model_id" in refused.value.errors


def test_another_members_operational_container_is_accepted(member_client, trio, demo):
    other = make_user("olga@example.org", "Olga")
    shared = make_container(other, "Olga shared model", operational=True)
    submit(member_client, form_data(trio, demo, model_id=str(shared.id)))
    assert only_benchmark().model_id == shared.id


def test_a_demo_link_that_does_not_answer_is_refused_before_anything_is_queued(
    member_client, trio, assets
):
    missing = assets.url("/nothing-here.tar.gz")
    response = submit(member_client, form_data(trio, missing))
    assert "404" in error_of(response.get_data(as_text=True), "demo_url")
    assert count(Benchmark) == 0 and count(Run) == 0
    assert get_queue().count == 0


# Test outcomes


def test_a_passing_test_sends_the_benchmark_to_review_with_its_evidence(member, submitted):
    finish_test(submitted)
    assert submitted.status == BenchmarkStatus.PENDING_APPROVAL
    assert submitted.results == RESULTS
    assert submitted.prepared_data_uid == UID
    assert submitted.demo_sha256 == DEMO_HASH
    assert actions(submitted)[-1] == ("test_passed", None, None)
    (note,) = notifications_of(member)
    assert "passed its compatibility test" in note.message
    assert note.url == f"/benchmarks/{submitted.id}"


@pytest.mark.parametrize("outcome", [RunStatus.FAILED, RunStatus.ERROR, RunStatus.CANCELED])
def test_a_test_that_does_not_pass_marks_the_benchmark_test_failed(member, submitted, outcome):
    finish_test(submitted, outcome)
    assert submitted.status == BenchmarkStatus.TEST_FAILED
    assert submitted.results is None and submitted.prepared_data_uid is None
    action, actor, reason = actions(submitted)[-1]
    assert (action, actor) == ("test_failed", None)
    assert reason == "The prepare step exited with code 3."
    (note,) = notifications_of(member)
    assert "The prepare step exited with code 3" in note.message
    # A platform error is not the owner's to fix: the notification says so.
    assert ("Nothing in your benchmark needs to change" in note.message) == (
        outcome == RunStatus.ERROR
    )


def test_the_outcome_of_a_superseded_test_is_ignored(member_client, member, submitted, assets):
    first_run_id = submitted.run_id
    other_demo = assets.add_bytes("/demo/other.tar.gz", b"other demo")
    data = form_data((submitted.prep, submitted.model, submitted.evaluator), other_demo)
    post_form(member_client, f"/benchmarks/{submitted.id}/edit", data)
    db.session.expire_all()
    assert submitted.run_id != first_run_id
    assert db.session.get(Run, first_run_id).status == RunStatus.CANCELED  # not a test_failed
    assert submitted.status == BenchmarkStatus.TESTING
    assert [a for a, _, _ in actions(submitted)] == ["submit", "edit"]
    finish_test(submitted)
    assert submitted.status == BenchmarkStatus.PENDING_APPROVAL


def test_the_job_is_queued_once_the_benchmark_points_to_its_run(
    member_client, trio, demo, monkeypatch
):
    # A worker may end a run at once: by then its benchmark must be saved, pointing to it.
    seen = []
    real_enqueue = run_services.enqueue

    def enqueue_and_look(function_path, run_id, **options):
        with db.engine.connect() as conn:  # what another process would read at this moment
            seen.append(
                conn.execute(select(Benchmark.run_id).where(Benchmark.run_id == run_id)).all()
            )
        real_enqueue(function_path, run_id, **options)

    monkeypatch.setattr(run_services, "enqueue", enqueue_and_look)
    submit(member_client, form_data(trio, demo))
    benchmark = only_benchmark()
    assert seen == [[(benchmark.run_id,)]]
    assert get_queue().get_job_ids() == [f"run-{benchmark.run_id}"]


# Edits


def test_editing_a_failed_benchmark_resubmits_it_with_a_new_test(member_client, submitted):
    finish_test(submitted, RunStatus.FAILED)
    failed_run_id = submitted.run_id
    data = form_data((submitted.prep, submitted.model, submitted.evaluator), submitted.demo_url)
    response = post_form(
        member_client, f"/benchmarks/{submitted.id}/edit", {**data, "description": "Better."}
    )
    db.session.expire_all()
    assert submitted.status == BenchmarkStatus.TESTING
    assert submitted.run_id != failed_run_id
    assert response.headers["Location"] == f"/runs/{submitted.run_id}"
    assert submitted.description == "Better."
    assert [a for a, _, _ in actions(submitted)][-2:] == ["edit", "resubmit"]
    assert get_queue().get_job_ids()[-1] == f"run-{submitted.run_id}"


def test_test_again_resubmits_a_failed_benchmark_unchanged(member_client, submitted):
    finish_test(submitted, RunStatus.ERROR)
    failed_run_id = submitted.run_id
    page = f"/benchmarks/{submitted.id}"
    response = post_form(member_client, f"{page}/retest", {}, page=page)
    db.session.expire_all()
    assert submitted.status == BenchmarkStatus.TESTING
    assert submitted.run_id != failed_run_id
    assert response.headers["Location"] == f"/runs/{submitted.run_id}"
    assert actions(submitted)[-1][0] == "resubmit"


def test_an_edit_in_testing_that_changes_no_input_keeps_the_running_test(member_client, submitted):
    run_id = submitted.run_id
    data = form_data((submitted.prep, submitted.model, submitted.evaluator), submitted.demo_url)
    post_form(member_client, f"/benchmarks/{submitted.id}/edit", {**data, "name": "Renamed"})
    db.session.expire_all()
    assert submitted.name == "Renamed" and submitted.run_id == run_id
    assert submitted.status == BenchmarkStatus.TESTING


def test_an_approved_benchmark_cannot_be_edited(member_client, member, trio, demo):
    benchmark = record_benchmark(member, trio, "Approved one", BenchmarkStatus.APPROVED)
    url = f"/benchmarks/{benchmark.id}/edit"
    response = member_client.get(url, follow_redirects=True)
    assert "approved benchmarks cannot be edited" in response.get_data(as_text=True)
    token_page = f"/benchmarks/{benchmark.id}"
    data = form_data(trio, demo, name="Changed")
    response = post_form(member_client, url, data, page=token_page)
    assert response.status_code == 302
    db.session.expire_all()
    assert benchmark.name == "Approved one"
    with pytest.raises(Refusal, match="cannot be edited"):
        update_benchmark(benchmark, BenchmarkFields.from_mapping(data), by=member)


def test_another_member_cannot_edit(client, member, trio):
    approved = record_benchmark(member, trio, "Approved one", BenchmarkStatus.APPROVED)
    testing = record_benchmark(member, trio, "Still testing", BenchmarkStatus.TESTING)
    sign_in_as(client, make_user("olga@example.org", "Olga"))
    assert client.get(f"/benchmarks/{approved.id}/edit").status_code == 403
    assert client.get(f"/benchmarks/{testing.id}/edit").status_code == 404


# Who sees what


@pytest.mark.parametrize(
    "status, other_member_sees",
    [
        (BenchmarkStatus.APPROVED, True),
        (BenchmarkStatus.PENDING_APPROVAL, False),
        (BenchmarkStatus.TESTING, False),
        (BenchmarkStatus.REJECTED, False),
    ],
)
def test_only_approved_benchmarks_are_seen_beyond_owner_and_admins(
    app, member, admin, trio, status, other_member_sees
):
    benchmark = record_benchmark(member, trio, "Chest", status)
    olga = make_user("olga@example.org", "Olga")
    url = f"/benchmarks/{benchmark.id}"
    assert signed_in(app, olga).get(url).status_code == (200 if other_member_sees else 404)
    assert signed_in(app, member).get(url).status_code == 200
    assert signed_in(app, admin).get(url).status_code == 200


def test_the_benchmark_owner_may_see_its_test_runs_even_when_an_admin_started_them(
    app, member, admin, submitted
):
    rerun = run_services.rerun(_finished(submitted), admin)
    stranger = make_user("olga@example.org", "Olga")
    assert rerun.requester_id == admin.id
    assert run_services.can_view(rerun, member)
    assert not run_services.can_view(rerun, stranger)
    assert signed_in(app, stranger).get(f"/runs/{rerun.id}").status_code == 404
    assert signed_in(app, member).get(f"/runs/{rerun.id}").status_code == 200


def _finished(benchmark: Benchmark) -> Run:
    finish_test(benchmark, RunStatus.FAILED)
    return db.session.get(Run, benchmark.run_id)


def test_detail_shows_status_timeline_components_and_evidence(member_client, submitted):
    finish_test(submitted)
    body = unescape(member_client.get(f"/benchmarks/{submitted.id}").get_data(as_text=True))
    assert "Awaiting review" in body
    assert body.index("Submitted") < body.index("Test passed")
    for container in (submitted.prep, submitted.model, submitted.evaluator):
        assert f'href="/containers/{container.id}"' in body
    assert UID in body and DEMO_HASH in body and submitted.demo_url in body
    assert "per_class.pneumonia" in body
    assert f'href="/runs/{submitted.run_id}"' in body
    assert f'href="/benchmarks/{submitted.id}/edit"' not in body  # not editable in review


# Lists


@pytest.fixture
def config(config):
    config["PAGE_SIZE"] = 2
    return config


def test_catalogue_lists_approved_benchmarks_by_name_with_search_and_pages(
    member_client, member, trio
):
    for name in ("Lung CT", "Chest X-ray", "Brain MRI"):
        record_benchmark(member, trio, name, BenchmarkStatus.APPROVED)
    record_benchmark(member, trio, "Chest pending", BenchmarkStatus.PENDING_APPROVAL)
    first = member_client.get("/benchmarks/").get_data(as_text=True)
    assert first.index("Brain MRI") < first.index("Chest X-ray")
    assert "Lung CT" not in first and "Page 1 of 2" in first
    second = member_client.get("/benchmarks/?page=2").get_data(as_text=True)
    assert "Lung CT" in second and "Chest pending" not in second
    found = member_client.get("/benchmarks/?q=CHEST").get_data(as_text=True)
    assert "Chest X-ray" in found and "Brain MRI" not in found and "Chest pending" not in found


def test_my_benchmarks_lists_every_status_with_what_to_do_next(member_client, member, trio):
    record_benchmark(member, trio, "Broken one", BenchmarkStatus.TEST_FAILED)
    record_benchmark(member, trio, "Sent back", BenchmarkStatus.CHANGES_REQUESTED)
    other = make_user("olga@example.org", "Olga")
    record_benchmark(other, make_trio(other, "Olga"), "Not mine", BenchmarkStatus.TESTING)
    body = unescape(member_client.get("/benchmarks/mine").get_data(as_text=True))
    assert "Broken one" in body and "Sent back" in body and "Not mine" not in body
    assert "Test failed" in body and "Changes requested" in body
    assert "Open the test to see which step failed" in body


def test_every_problem_is_reported_at_once(member_client, member, trio, assets):
    record_benchmark(member, trio, "Taken", BenchmarkStatus.REJECTED)
    data = form_data(trio, assets.url("/missing.tar.gz"), name="TAKEN", prep_id="")
    body = submit(member_client, data).get_data(as_text=True)
    assert "Choose one of the containers" in error_of(body, "prep_id")
    assert "is taken" in error_of(body, "name")
    assert "404" in error_of(body, "demo_url")
