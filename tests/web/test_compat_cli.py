"""`flask compat-test`: starts a run, prints its log as it comes, exits with its outcome."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from app import web_needed
from app.extensions import db
from app.models import Run, RunStatus
from app.runs import cli as compat_cli
from app.services.runs import finish_run, mark_running
from tests.support.app import own_app
from tests.support.runs import DEMO, fail_run, make_trio, pass_run

LINK = "https://files.example.org/{}/container_config.yaml"


class FakeWorker(threading.Thread):
    """Waits for the command's run to appear, then plays it to the given outcome."""

    def __init__(self, app, outcome: str) -> None:
        super().__init__(daemon=True)
        self.app, self.outcome, self.error = app, outcome, None

    def run(self) -> None:
        with self.app.app_context():
            try:
                self.play(self.wait_for_run())
            except Exception as error:  # reported by the test, not lost in the thread
                self.error = error
            finally:
                db.session.remove()

    def wait_for_run(self) -> int:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            run_id = db.session.scalar(select(Run.id).where(Run.dispatched.is_(True)))
            db.session.rollback()
            if run_id:
                return run_id
            time.sleep(0.05)
        raise AssertionError("the command created no run")

    def play(self, run_id: int) -> None:
        if self.outcome == "passed":
            pass_run(
                run_id,
                [("prepare", "preparing 3 images"), ("evaluate", "scoring")],
                results={"auc": 0.75, "per_class": {"lung": 0.5, "heart": "NaN"}},
            )
        elif self.outcome == "failed":
            fail_run(run_id, "infer", summary="The model exited with code 3.")
        elif self.outcome == "canceled":
            mark_running(run_id, "fake-worker")
            finish_run(run_id, RunStatus.CANCELED, failure_summary="Canceled by Ada.")
        else:
            mark_running(run_id, "fake-worker")
            finish_run(run_id, RunStatus.ERROR, failure_summary="Docker is unreachable.")


def invoke(app, *args: str, outcome: str | None = None):
    """Run `flask compat-test ARGS`, with a fake worker playing the run when outcome is set."""
    worker = FakeWorker(app, outcome) if outcome else None
    if worker:
        worker.start()
    result = app.test_cli_runner().invoke(args=["compat-test", *args])
    if worker:
        worker.join(timeout=20)
        assert worker.error is None, worker.error
    return result


def trio_args(owner) -> list[str]:
    prep, model, evaluator = make_trio(owner)
    return [
        "--prep",
        str(prep.id),
        "--model",
        str(model.id),
        "--evaluator",
        str(evaluator.id),
        "--demo",
        DEMO,
    ]


def test_passed_run_prints_its_log_and_results_as_yaml_and_exits_0(app, admin):
    result = invoke(app, *trio_args(admin), outcome="passed")
    assert result.exit_code == 0, result.output
    assert "[prepare] [container] preparing 3 images" in result.stdout
    assert "== step evaluate: passed" in result.stdout
    results = yaml.safe_load(result.stdout.split("Results:\n", 1)[1])
    assert results == {"auc": 0.75, "per_class": {"lung": 0.5, "heart": "NaN"}}
    run = db.session.scalar(select(Run))
    assert run.requester_id == admin.id and run.status == RunStatus.PASSED


def test_failed_run_exits_1_with_its_summary(app, admin):
    result = invoke(app, *trio_args(admin), outcome="failed")
    assert result.exit_code == 1, result.output
    assert "The model exited with code 3." in result.stdout
    assert "Results:" not in result.stdout


@pytest.mark.parametrize("outcome", ["canceled", "error"])
def test_canceled_or_platform_error_exits_2(app, admin, outcome):
    result = invoke(app, *trio_args(admin), outcome=outcome)
    assert result.exit_code == 2, result.output
    assert f"{outcome}." in result.stdout


def test_links_and_as_record_an_ad_hoc_run_for_that_member(app, admin, member):
    args = [
        "--prep", LINK.format("prep"), "--prep-params", "https://files.example.org/p.yaml",
        "--model", LINK.format("model"), "--model-files", "https://files.example.org/w.tgz",
        "--evaluator", LINK.format("evaluator"), "--demo", DEMO, "--as", member.email.upper(),
    ]  # fmt: skip
    result = invoke(app, *args, outcome="passed")
    assert result.exit_code == 0, result.output
    run = db.session.scalar(select(Run))
    assert run.requester_id == member.id
    assert run.inputs["slots"]["data_preparator"]["parameters_url"].endswith("/p.yaml")
    assert run.inputs["slots"]["model"]["additional_files_url"].endswith("/w.tgz")


def test_without_an_administrator_the_command_exits_2_and_creates_nothing(app, member):
    result = invoke(app, *trio_args(member))
    assert result.exit_code == 2
    assert "no active administrator" in result.output
    assert db.session.scalar(select(Run)) is None


def test_a_container_in_the_wrong_slot_is_refused(app, admin):
    prep, model, evaluator = make_trio(admin)
    result = invoke(
        app,
        "--prep",
        str(model.id),
        "--model",
        str(model.id),
        "--evaluator",
        str(evaluator.id),
        "--demo",
        DEMO,
    )
    assert result.exit_code == 2
    assert "is a model, not a data preparator" in result.output
    assert db.session.scalar(select(Run)) is None


def test_unknown_container_or_bad_link_is_refused(app, admin):
    assert (
        "no registered container #999"
        in invoke(app, "--prep", "999", "--model", "1", "--evaluator", "2", "--demo", DEMO).output
    )
    result = invoke(
        app, "--prep", "file:///etc/passwd", "--model", "1", "--evaluator", "2", "--demo", DEMO
    )
    assert result.exit_code == 2 and "http(s) link" in result.output


def test_queued_run_without_workers_warns_once_and_times_out_with_2(app, admin, monkeypatch):
    monkeypatch.setattr(compat_cli, "NO_WORKER_WARNING_SECONDS", 0.0)
    monkeypatch.setattr(compat_cli, "POLL_MS", 200)
    result = invoke(app, *trio_args(admin), "--timeout", "1.5")
    assert result.exit_code == 2
    assert result.stderr.count("no worker is running") == 1
    assert "Gave up after 1.5 s" in result.stderr
    assert db.session.scalar(select(Run)).status == RunStatus.QUEUED


def test_with_redis_down_the_run_is_kept_and_the_command_exits_2(app, admin):
    redis = app.extensions["redis"]
    redis.connection_pool.connection_kwargs["port"] = 1  # nothing listens there
    redis.connection_pool.reset()  # connections made before keep their own port
    result = invoke(app, *trio_args(admin))
    assert result.exit_code == 2
    assert "The queue (Redis) cannot be reached" in result.stderr
    run = db.session.scalar(select(Run))
    assert run.status == RunStatus.QUEUED and not run.dispatched


@pytest.mark.parametrize(
    ("argv", "needed"),
    [
        (["/usr/bin/flask", "compat-test", "--prep", "1"], False),
        (["/venv/lib/flask/__main__.py", "compat-test"], False),
        (["/usr/bin/flask", "worker"], True),
        (["/usr/bin/flask", "--app", "wsgi", "compat-test"], True),
        (["/usr/bin/flask"], True),
        (["/usr/bin/gunicorn", "compat-test"], True),
        (["gunicorn", "wsgi:app"], True),
    ],
)
def test_only_flask_compat_test_is_built_without_the_pages(argv, needed):
    assert web_needed(argv) is needed


def test_the_app_without_pages_runs_the_command_alike(app, config, admin):
    args = trio_args(admin)
    db.session.commit()
    with own_app(config, web=False) as light:
        assert sorted(light.cli.commands) == ["compat-test"]
        assert "runs.detail" not in light.view_functions
        with light.app_context():
            result = invoke(light, *args, outcome="passed")
            db.session.remove()
    assert result.exit_code == 0, result.output
    assert "== step evaluate: passed" in result.stdout
    assert yaml.safe_load(result.stdout.split("Results:\n", 1)[1])["auc"] == 0.75


def probe_command_line(tmp_path, code: str) -> subprocess.CompletedProcess:
    """Run code in a process whose command line is `flask compat-test`, after importing wsgi."""
    # Block-buffered output, as a pipe gets without PYTHONUNBUFFERED: leave() must flush it.
    skipped = ("FLASK_", "PYTEST_", "PYTHONUNBUFFERED")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(skipped)},
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "WORK_DIR": str(tmp_path / "work"),
    }
    root = Path(__file__).resolve().parents[2]
    code = f"import sys; sys.argv = ['flask', 'compat-test']; import wsgi\n{code}"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )


def test_flask_compat_test_imports_none_of_the_pages(tmp_path):
    """What the command line loads: no page, form, sign-in or HTTP library, and on SQLite no
    PostgreSQL dialect."""
    done = probe_command_line(
        tmp_path,
        "print(sorted(wsgi.app.cli.commands))\n"
        "print([m for m in ('app.runs.routes', 'app.auth', 'app.api', 'flask_wtf', 'wtforms',"
        " 'app.services.accounts', 'requests', 'sqlalchemy.dialects.postgresql')"
        " if m in sys.modules])",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["['compat-test']", "[]"]


def test_the_command_line_leaves_with_its_code_and_all_its_output(tmp_path):
    done = probe_command_line(
        tmp_path,
        "from app.runs.cli import leave\n"
        "print('Run #1 failed.'); print('why', file=sys.stderr)\n"
        "with wsgi.app.app_context(): leave(1)\n"
        "print('never')",
    )
    assert (done.returncode, done.stdout, done.stderr) == (1, "Run #1 failed.\n", "why\n")


def test_called_by_a_runner_leave_raises_system_exit():
    with pytest.raises(SystemExit) as ended:
        compat_cli.leave(2)
    assert ended.value.code == 2
