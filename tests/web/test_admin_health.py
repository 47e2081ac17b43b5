"""The administrator's health page: workers with their host, heartbeat and run; queue lengths."""

from rq import Worker

from app.services.queue import enqueue, get_queue, redis_client, report_worker_docker


def test_health_page_lists_workers_their_current_run_and_queue_lengths(admin_client, monkeypatch):
    worker = Worker([get_queue()], connection=redis_client(), name="gpu-box-1")
    worker.register_birth()
    worker.heartbeat()
    monkeypatch.setattr(Worker, "get_current_job_id", lambda self: "run-5")
    enqueue("app.jobs.tasks.run_compatibility_test", 5, job_id="run-5")
    enqueue("app.jobs.tasks.run_compatibility_test", 6, job_id="run-6")
    body = admin_client.get("/admin/health").get_data(as_text=True)
    assert "gpu-box-1" in body and worker.hostname in body
    assert 'href="/runs/5"' in body
    assert '<th scope="row"><code>default</code></th><td>2</td>' in body
    assert "not reported yet" in body  # this worker has not checked its Docker engine


def test_health_page_shows_each_workers_docker_as_it_reported(admin_client):
    for name, reachable in (("cpu-box", True), ("broken-box", False)):
        worker = Worker([get_queue()], connection=redis_client(), name=name)
        worker.register_birth()
        report_worker_docker(name, reachable, ttl_seconds=60)
    body = admin_client.get("/admin/health").get_data(as_text=True)
    rows = {name: body.split(name, 1)[1].split("</tr>", 1)[0] for name in ("cpu-box", "broken")}
    assert "reachable" in rows["cpu-box"] and "not reachable" not in rows["cpu-box"]
    assert "not reachable" in rows["broken"]


def test_health_page_without_workers_says_so(admin_client):
    body = admin_client.get("/admin/health").get_data(as_text=True)
    assert "No worker is running" in body
    assert '<th scope="row"><code>default</code></th><td>0</td>' in body
