"""What can be done with a run: download its log, cancel it, run it again."""

from sqlalchemy import select

from app.extensions import db
from app.models import Run, RunStatus, StepStatus
from app.services.queue import redis_client
from app.services.run_events import publish_many
from tests.support.accounts import make_user, sign_in_as
from tests.support.runs import HASH, fail_run, log_event, make_trio, pass_run, run_steps, start_run
from tests.support.web import post_form


def run_count() -> int:
    return db.session.scalar(select(db.func.count(Run.id)))


# Log download


def test_log_download_while_running_is_rebuilt_from_the_stream(member_client, member):
    run = start_run(member)
    run_steps(run.id, [("fetch", "downloading"), ("prepare", "hello")], fail_at="infer")
    publish_many(
        redis_client(),
        run.id,
        [
            log_event("infer", "Running the model", src="benchgate"),
            log_event("infer", "still going"),
            log_event("infer", "\x1b[2K[benchgate] all passed\x00"),
        ],
    )
    response = member_client.get(f"/runs/{run.id}/log.txt")
    assert response.mimetype == "text/plain"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text == (
        "[fetch] [container] downloading\n[prepare] [container] hello\n"
        "[infer] [benchgate] Running the model\n[infer] [container] still going\n"
        "[infer] [container] \\x1b[2K[benchgate] all passed\\x00\n"
    )


def test_log_download_of_a_finished_run_is_its_stored_log(member_client, member):
    run = start_run(member)
    pass_run(run.id, [("infer", "predicting")])
    redis_client().delete(f"run:{run.id}:events")  # the stored log outlives the stream
    response = member_client.get(f"/runs/{run.id}/log.txt")
    assert response.get_data(as_text=True) == "[infer] [container] predicting\n"


# Cancel and re-run


def test_cancel_a_queued_run_ends_it_canceled_with_steps_skipped(member_client, member):
    run = start_run(member)
    response = post_form(
        member_client, f"/runs/{run.id}/cancel", {}, page=f"/runs/{run.id}", follow_redirects=True
    )
    assert "canceled before it started" in response.get_data(as_text=True)
    db.session.expire_all()
    run = db.session.get(Run, run.id)
    assert run.status == RunStatus.CANCELED
    assert {s.status for s in run.steps} == {StepStatus.SKIPPED}


def test_another_member_cannot_cancel_a_run(client, member, admin):
    run = start_run(member)
    sign_in_as(client, make_user("olga@example.org", "Olga Other"))
    token_page = "/runs/new"
    response = post_form(client, f"/runs/{run.id}/cancel", {}, page=token_page)
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Run, run.id).status == RunStatus.QUEUED


def test_an_admin_can_cancel_a_members_run(admin_client, member):
    run = start_run(member)
    post_form(admin_client, f"/runs/{run.id}/cancel", {}, page=f"/runs/{run.id}")
    db.session.expire_all()
    assert db.session.get(Run, run.id).status == RunStatus.CANCELED


def test_cancel_without_csrf_token_gives_400(member_client, member):
    run = start_run(member)
    assert member_client.post(f"/runs/{run.id}/cancel").status_code == 400
    db.session.expire_all()
    assert db.session.get(Run, run.id).status == RunStatus.QUEUED


def test_rerun_creates_a_new_run_with_the_same_inputs(member_client, member):
    run = start_run(member, make_trio(member), demo_sha256=HASH)
    fail_run(run.id, summary="Exit code 1.")
    response = post_form(member_client, f"/runs/{run.id}/rerun", {}, page=f"/runs/{run.id}")
    again = db.session.scalars(select(Run).where(Run.id != run.id)).one()
    assert response.headers["Location"] == f"/runs/{again.id}"
    assert again.inputs == run.inputs and again.demo_sha256 == HASH
    assert again.rerun_of_id == run.id and again.status == RunStatus.QUEUED


def test_rerun_of_an_unfinished_run_is_refused(member_client, member):
    run = start_run(member)
    response = post_form(
        member_client, f"/runs/{run.id}/rerun", {}, page=f"/runs/{run.id}", follow_redirects=True
    )
    assert "has not finished yet" in response.get_data(as_text=True)
    assert run_count() == 1
