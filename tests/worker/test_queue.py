"""A job queued by the web app is executed by a real `flask worker --burst` process."""

from app.extensions import db
from app.models import QueueCheck
from app.services.queue import worker_docker_status
from tests.support.processes import run_burst_worker
from tests.support.web import post_form


def test_burst_worker_answers_a_queue_check_sent_from_the_admin_page(admin_client, config):
    response = post_form(admin_client, "/admin/health/queue-check", {}, page="/admin/health")
    assert response.status_code == 302
    check = db.session.scalars(db.select(QueueCheck)).one()
    assert check.answered_at is None

    result = run_burst_worker(config)
    assert result.returncode == 0, result.stderr

    db.session.expire_all()
    check = db.session.get(QueueCheck, check.id)
    assert check.answered_at is not None
    assert check.worker_name
    assert check.round_trip_seconds >= 0
    page = admin_client.get("/admin/health").get_data(as_text=True)
    assert check.worker_name in page


def test_queue_check_with_redis_down_says_so_and_keeps_the_record(admin_client, app):
    app.extensions["redis"].connection_pool.connection_kwargs["port"] = 1  # nothing listens
    app.extensions["redis"].connection_pool.reset()
    response = post_form(
        admin_client, "/admin/health/queue-check", {}, page="/admin/health", follow_redirects=True
    )
    assert "The queue could not be reached" in response.get_data(as_text=True)
    assert db.session.scalars(db.select(QueueCheck)).one().answered_at is None


def test_worker_reports_whether_it_reaches_docker(app, config):
    result = run_burst_worker(config)
    assert result.returncode == 0, result.stderr
    redis = app.extensions["redis"]
    keys = redis.keys("worker:*:docker")
    assert len(keys) == 1
    name = keys[0].decode().split(":")[1]
    assert worker_docker_status(name) is True
    assert 0 < redis.ttl(keys[0]) <= 150


def test_a_starting_worker_ends_runs_whose_worker_is_gone(app, config, member):
    from app.models import Run, RunStatus
    from app.services.runs import mark_running
    from tests.support.runs import start_run

    run = start_run(member)
    assert mark_running(run.id, "vanished-host.4242")  # a worker that no longer exists
    result = run_burst_worker(config)
    assert result.returncode == 0, result.stderr
    db.session.expire_all()
    run = db.session.get(Run, run.id)
    assert run.status == RunStatus.ERROR
    assert run.failure_cause == "worker_lost"
    assert "stopped unexpectedly" in run.failure_summary
