"""The `benchgate` command's own parts: reading options, events and answers (no server)."""

import pytest

from benchgate_cli.client import _sse
from benchgate_cli.main import UsageError, describe_event, main, slot_input


def test_an_id_names_a_registered_container_and_a_link_an_unregistered_one():
    assert slot_input("12", "prep", None, None) == {"container": 12}
    assert slot_input("https://x.org/c.yaml", "prep", "https://x.org/p.yaml", None) == {
        "config_url": "https://x.org/c.yaml",
        "parameters_url": "https://x.org/p.yaml",
    }


@pytest.mark.parametrize(
    ("value", "params", "words"),
    [("12", "https://x.org/p.yaml", "go with a configuration link"), ("c.yaml", None, "id")],
)
def test_options_that_cannot_work_are_refused(value, params, words):
    with pytest.raises(UsageError, match=words):
        slot_input(value, "prep", params, None)


def test_events_are_printed_as_flask_compat_test_prints_them():
    log = describe_event("log", {"lines": [{"step": "infer", "line": "hello"}]})
    step = describe_event(
        "step",
        {
            "name": "infer",
            "status": "passed",
            "started_at": "2026-01-01T00:00:00+00:00",
            "finished_at": "2026-01-01T00:00:02.5+00:00",
        },
    )
    assert log == "[infer] hello"
    assert step == "== step infer: passed (2.5 s)"


def test_server_sent_events_are_parsed_with_ids_and_keep_alives():
    lines = [": connected", "retry: 2000", "", "id: 1-0", "event: log", 'data: {"a": 1}', ""]
    assert list(_sse(iter(lines))) == [(None, None, {}), ("1-0", "log", {"a": 1})]


def test_without_a_token_the_command_exits_2(monkeypatch, capsys):
    monkeypatch.delenv("BENCHGATE_TOKEN", raising=False)
    code = main(["runs", "show", "1", "--server", "http://127.0.0.1:9"])
    assert code == 2
    assert "BENCHGATE_TOKEN" in capsys.readouterr().err


def test_the_installed_command_needs_only_requests_and_pyyaml():
    import subprocess
    import sys
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"benchgate": "benchgate_cli.main:main"}
    assert sorted(d.split(">")[0] for d in project["dependencies"]) == ["PyYAML", "requests"]
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, benchgate_cli.main; print(' '.join(sys.modules))"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not {"flask", "app", "sqlalchemy", "redis", "click"} & set(loaded)
