"""Results with hundreds of thousands of values: small pages, the whole file downloadable."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from rq.job import Job

from app.extensions import db
from app.models import BenchmarkStatus, RunStatus
from app.runs.display import flatten
from app.runs.values import shown_values
from app.services.join_requests import ask_to_join
from app.services.queue import get_queue, redis_client
from app.services.run_limits import job_timeout_seconds
from app.services.runs import finish_run, job_id, mark_running
from app.settings import reconfigure
from tests.support.accounts import make_user, signed_in
from tests.support.benchmarks import make_trio, record_benchmark
from tests.support.containers import make_container
from tests.support.runs import pass_run, start_run

COUNT = 300_000
PAGE_LIMIT = 150_000  # bytes: the page with 300,000 values would weigh over 20 MiB


@pytest.fixture(scope="module")
def big() -> dict:
    values = {"accuracy": "NaN", "worst": "-Infinity"}
    values.update({f"metric_{i:06d}": i / 7 for i in range(COUNT)})
    return values


def _passed_run(user, **evidence):
    run = start_run(user)
    pass_run(run.id, **evidence)
    db.session.expire_all()
    return run


def test_run_page_shows_the_first_values_and_says_how_many(member_client, member, big):
    run = _passed_run(member, results=big, statistics={"cases": 4})
    page = member_client.get(f"/runs/{run.id}")
    assert page.status_code == 200
    assert len(page.data) < PAGE_LIMIT
    text = page.get_data(as_text=True)
    assert "Showing 200 of 300,002 values" in text
    assert f'href="/runs/{run.id}/results.json"' in text
    assert '<code>accuracy</code></th><td class="value">NaN</td>' in text
    assert "-Infinity" in text
    assert "metric_000197" in text and "metric_000198" not in text


def test_results_download_gives_every_value(member_client, member, big):
    run = _passed_run(member, results=big, statistics={"cases": 4, "nested": {"a": 1}})
    response = member_client.get(f"/runs/{run.id}/results.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert json.loads(response.data) == big
    stats = member_client.get(f"/runs/{run.id}/statistics.json")
    assert json.loads(stats.data) == {"cases": 4, "nested": {"a": 1}}


def test_downloads_answer_404_to_another_member_and_to_a_run_without_results(app, member, admin):
    run = _passed_run(member, results={"auc": 0.9}, statistics={"cases": 4})
    other = make_user("otto@example.org", "Otto Other")
    otto = signed_in(app, other)
    assert otto.get(f"/runs/{run.id}/results.json").status_code == 404
    assert otto.get(f"/runs/{run.id}/statistics.json").status_code == 404
    assert signed_in(app, admin).get(f"/runs/{run.id}/results.json").status_code == 200
    queued = start_run(member)
    mia = signed_in(app, member)
    assert mia.get(f"/runs/{queued.id}/results.json").status_code == 404
    assert mia.get(f"/runs/{run.id}/other.json").status_code == 404


def test_one_huge_value_is_clipped_on_the_page(member_client, member):
    curve = list(range(1_000_000))
    run = _passed_run(member, results={"curve": curve, "note": "x" * 100_000})
    page = member_client.get(f"/runs/{run.id}")
    assert len(page.data) < 30_000
    text = page.get_data(as_text=True)
    assert "0, 1, 2, 3" in text and "…" in text
    assert json.loads(member_client.get(f"/runs/{run.id}/results.json").data)["curve"] == curve


def test_shown_values_flatten_like_the_full_table():
    values = {"a": {"b": math.nan, "c": [1, 2]}, "d": -math.inf, "e": {}, "f": None}
    shown = shown_values(values)
    assert shown.rows == flatten(values) and shown.total == 5 and not shown.partial
    assert shown.rows[0] == ("a.b", "NaN")
    assert shown_values(values, limit=2).rows == flatten(values)[:2]
    deep = {"k": {str(i): i for i in range(10)}}
    assert shown_values(deep, limit=3).total == 10


def test_benchmark_page_and_its_download_stay_within_bounds(app, member, big):
    benchmark = record_benchmark(member, make_trio(member), "Big", BenchmarkStatus.APPROVED)
    benchmark.results = big
    db.session.commit()
    other = make_user("otto@example.org", "Otto Other")
    otto = signed_in(app, other)
    page = otto.get(f"/benchmarks/{benchmark.id}")
    assert page.status_code == 200 and len(page.data) < PAGE_LIMIT
    assert "Showing 200 of 300,002 values" in page.get_data(as_text=True)
    assert json.loads(otto.get(f"/benchmarks/{benchmark.id}/results.json").data) == big
    hidden = record_benchmark(member, make_trio(member, "Hid"), "Hidden", BenchmarkStatus.TESTING)
    hidden.results = {"auc": 1}
    db.session.commit()
    assert otto.get(f"/benchmarks/{hidden.id}/results.json").status_code == 404
    assert signed_in(app, member).get(f"/benchmarks/{hidden.id}/results.json").status_code == 200


def test_join_request_page_compares_the_first_metrics_only(app, member, big):
    owner = make_user("olga@example.org", "Olga Owner")
    benchmark = record_benchmark(owner, make_trio(owner), "Chest", BenchmarkStatus.APPROVED)
    benchmark.results = big
    db.session.commit()
    request = ask_to_join(benchmark, make_container(member, "Mia DenseNet"), member)
    assert mark_running(request.run_id, "test-worker")
    finish_run(request.run_id, RunStatus.PASSED, results={**big, "extra": 1})
    db.session.expire_all()
    olga = signed_in(app, owner)
    for url in (f"/benchmarks/join-requests/{request.id}/decide", f"/benchmarks/{benchmark.id}"):
        page = olga.get(url)
        assert page.status_code == 200 and len(page.data) < 2 * PAGE_LIMIT, url
        text = page.get_data(as_text=True)
        assert "Showing 200 of 300,003 metrics" in text
        assert f'href="/runs/{request.run_id}/results.json"' in text


def test_review_page_stays_small(app, member, admin, big):
    benchmark = record_benchmark(member, make_trio(member), "Big", BenchmarkStatus.PENDING_APPROVAL)
    run = _passed_run(member, results=big, statistics=big)
    benchmark.run_id = run.id
    db.session.commit()
    page = signed_in(app, admin).get(f"/admin/review/{benchmark.id}")
    assert page.status_code == 200 and len(page.data) < 2 * PAGE_LIMIT
    assert page.get_data(as_text=True).count("Showing 200 of 300,002 values") == 2


def test_a_run_is_queued_with_the_job_time_limit_its_settings_give(app, member):
    limits = reconfigure(app, CONTAINER_TIMEOUT_SECONDS=120.0, JOB_MARGIN_SECONDS=45)
    run = start_run(member)
    job = Job.fetch(job_id(run.id), connection=redis_client(), serializer=get_queue().serializer)
    assert job.timeout == job_timeout_seconds(limits)
    assert job.timeout < 24 * 3600
    assert job.timeout - job_timeout_seconds(replace(limits, container_timeout_seconds=0)) == 600
