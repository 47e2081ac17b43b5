"""`benchgate test` against a real portal: gunicorn, a `flask worker`, Docker, and a token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import Run, RunStatus
from tests.support import variants
from tests.support.api import make_token
from tests.support.app import TEST_DATABASE_URL
from tests.support.portal import LivePortal
from tests.support.processes import PROJECT_ROOT
from tests.support.trio import serve_trio

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def portal(app, config, tmp_path) -> Iterator[LivePortal]:
    """Benchgate served by gunicorn with one worker, on this test's database and Redis."""
    if not TEST_DATABASE_URL:
        db.session.commit()
    live = LivePortal(config, tmp_path).start()
    yield live
    live.stop()


def benchgate(*args: str, token: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run the `benchgate` command as a CI job would, with the token in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "BENCHGATE_"))}
    env["BENCHGATE_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "benchgate_cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def trio_args(links: dict[str, str]) -> list[str]:
    return [
        "--prep", links["prep"], "--prep-params", links["prep_params"],
        "--model", links["model"], "--evaluator", links["evaluator"], "--demo", links["demo"],
    ]  # fmt: skip


def test_a_passing_test_streams_its_log_and_prints_results_as_yaml(portal, member, trio):
    token = make_token(member)
    result = benchgate("test", "--server", portal.url, *trio_args(trio), token=token)
    assert result.returncode == 0, (result.stdout, result.stderr, portal.log("worker.log")[-3000:])
    out = result.stdout
    assert out.startswith("Run #") and f"queued for {member.email}" in out
    assert "== step prepare: passed" in out and "== step evaluate: passed" in out
    assert "[infer]" in out  # the containers' own lines, as they came
    assert yaml.safe_load(out.split("Results:\n", 1)[1]) == {
        "accuracy": 0.75,
        "cases": 4,
        "correct": 3,
    }
    db.session.expire_all()
    run = db.session.scalar(select(Run))
    assert run.requester_id == member.id and run.status == RunStatus.PASSED

    shown = benchgate("runs", "show", str(run.id), "--server", portal.url, token=token)
    assert shown.returncode == 0, shown.stderr
    summary = yaml.safe_load(shown.stdout)
    assert summary["status"] == "passed" and summary["steps"]["evaluate"] == "passed"


def test_a_failing_model_exits_1_with_the_failure(portal, member, assets, test_images):
    links = serve_trio(assets, model=variants.model_config(variants.EXIT_3))
    result = benchgate("test", "--server", portal.url, *trio_args(links), token=make_token(member))
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "infer: giving up" in result.stdout
    assert "Results:" not in result.stdout


def test_a_refused_request_or_a_bad_token_exits_2_and_starts_nothing(portal, member, trio):
    refused = benchgate(
        "test", "--server", portal.url, "--prep", "999", "--model", trio["model"],
        "--evaluator", trio["evaluator"], "--demo", trio["demo"], token=make_token(member),
    )  # fmt: skip
    assert refused.returncode == 2
    assert "data_preparator.container" in refused.stderr
    bad_token = benchgate("test", "--server", portal.url, *trio_args(trio), token="bgt_not-a-token")
    assert bad_token.returncode == 2 and "token" in bad_token.stderr
    db.session.expire_all()
    assert db.session.scalar(select(Run)) is None


def test_a_committee_registers_its_containers_submits_and_follows_the_test(portal, member, trio):
    token = make_token(member)
    ids = {}
    for name, config, extra in (
        ("prep", trio["prep"], ["--params", trio["prep_params"]]),
        ("model", trio["model"], []),
        ("evaluator", trio["evaluator"], []),
    ):
        result = benchgate(
            "containers", "register", "--server", portal.url, "--name", f"Toy {name}",
            "--config", config, *extra, token=token,
        )  # fmt: skip
        assert result.returncode == 0, (result.stdout, result.stderr)
        ids[name] = str(yaml.safe_load(result.stdout.split("\n", 1)[1])["id"])
    submitted = benchgate(
        "benchmarks", "submit", "--server", portal.url, "--name", "Toy benchmark",
        "--description", "Counts right answers.", "--demo", trio["demo"],
        "--prep", ids["prep"], "--model", ids["model"], "--evaluator", ids["evaluator"],
        token=token,
    )  # fmt: skip
    assert submitted.returncode == 0, (submitted.stdout, submitted.stderr)
    run_id = str(yaml.safe_load(submitted.stdout.split("\n", 1)[1])["run_id"])
    followed = benchgate("runs", "show", run_id, "--follow", "--server", portal.url, token=token)
    assert followed.returncode == 0, (followed.stdout, followed.stderr)
    assert "Results:" in followed.stdout
    db.session.expire_all()
    from app.models import Benchmark, BenchmarkStatus

    benchmark = db.session.scalar(select(Benchmark))
    assert benchmark.status == BenchmarkStatus.PENDING_APPROVAL
    assert benchmark.owner_id == member.id
