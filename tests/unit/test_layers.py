"""The dependency direction holds: the import contracts of pyproject.toml are kept."""

from __future__ import annotations

import tomllib
from pathlib import Path

from importlinter import configuration
from importlinter.application.use_cases import SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"


def _contracts() -> dict[str, dict]:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_the_core_may_not_import_the_web_app_flask_or_the_database():
    core = _contracts()["core"]
    assert core["type"] == "forbidden"
    assert core["source_modules"] == ["workers"]
    assert {"app", "flask", "flask_sqlalchemy", "sqlalchemy", "rq"} <= set(
        core["forbidden_modules"]
    )


def test_services_and_models_do_not_reach_the_job_glue():
    jobs = _contracts()["jobs"]
    assert jobs["type"] == "forbidden"
    assert jobs["forbidden_modules"] == ["app.jobs"]


def test_every_import_contract_is_kept(capsys):
    configuration.configure()  # what the lint-imports command does first
    status = lint_imports(config_filename=str(PYPROJECT), cache_dir=None, no_logo=True)
    report = capsys.readouterr().out
    assert status == SUCCESS, report
    assert "0 broken" in report
