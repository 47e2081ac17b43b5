"""Tests of a task's run_args: command, entrypoint, environment, shm_size and gpus."""

import pytest
import yaml

from tests.support.container_configs import CONFIGS, model, problems_of
from workers.container_config import parse_container_config


def test_string_command_is_split_like_a_shell():
    data = model(run_args={"command": "python3 /app/run.py --name 'two words' --flag"})
    task = parse_container_config(yaml.safe_dump(data)).tasks["infer"]
    assert task.command == ["python3", "/app/run.py", "--name", "two words", "--flag"]


def test_list_command_is_kept_word_by_word():
    task = parse_container_config((CONFIGS / "model.yaml").read_text()).tasks["infer"]
    assert task.command == ["python3", "/project/infer.py", "--batch-size", "8"]


def test_run_args_are_normalised():
    data = model(
        run_args={
            "entrypoint": "/bin/sh",
            "environment": {"DEBUG": True, "RATE": 0.5, "NAME": "x"},
            "shm_size": "512M",
            "gpus": [0, 1],
        }
    )
    task = parse_container_config(yaml.safe_dump(data)).tasks["infer"]
    assert task.entrypoint == "/bin/sh"
    assert task.environment == {"DEBUG": "True", "RATE": "0.5", "NAME": "x"}
    assert task.shm_size == "512m"
    assert task.gpus == "device=0,1"


@pytest.mark.parametrize(
    ("gpus", "expected"),
    [("all", "all"), (2, 2), ("1", 1), (0, None), ("device=0,2", "device=0,2")],
)
def test_gpu_requests_in_run_args_are_normalised(gpus, expected):
    task = parse_container_config(yaml.safe_dump(model(run_args={"gpus": gpus}))).tasks["infer"]
    assert task.gpus == expected


def test_unknown_run_args_key_is_refused():
    assert problems_of(model(run_args={"privileged": True})) == [
        "tasks.infer.run_args.privileged: unknown setting 'privileged'; run_args may contain "
        "only command, entrypoint, environment, shm_size and gpus"
    ]


@pytest.mark.parametrize("command", [{"run": "x"}, 5, True])
def test_bad_command_type_is_refused(command):
    (problem,) = problems_of(model(run_args={"command": command}))
    assert problem.startswith("tasks.infer.run_args.command: must be text")


def test_command_list_with_a_non_word_is_refused_with_its_index():
    (problem,) = problems_of(model(run_args={"command": ["python3", ["nested"]]}))
    assert problem.startswith("tasks.infer.run_args.command[1]: ")


def test_command_with_unclosed_quote_is_refused():
    (problem,) = problems_of(model(run_args={"command": "python3 'run.py"}))
    assert "unclosed quote" in problem


def test_bad_entrypoint_is_refused():
    (problem,) = problems_of(model(run_args={"entrypoint": ["/bin/sh", "-c"]}))
    assert problem.startswith("tasks.infer.run_args.entrypoint: must be the path of one program")


@pytest.mark.parametrize(
    ("environment", "path"),
    [
        (["A=1"], "tasks.infer.run_args.environment: must be a mapping"),
        ({"A": [1, 2]}, "tasks.infer.run_args.environment.A: must be a single value"),
        ({"A": None}, "tasks.infer.run_args.environment.A: has no value"),
        ({"1BAD": "x"}, "tasks.infer.run_args.environment.1BAD: '1BAD' is not a valid"),
    ],
)
def test_bad_environment_is_refused(environment, path):
    (problem,) = problems_of(model(run_args={"environment": environment}))
    assert problem.startswith(path)


@pytest.mark.parametrize("shm_size", ["lots", "1x", "-1g", "1 gig", True])
def test_bad_shm_size_is_refused(shm_size):
    (problem,) = problems_of(model(run_args={"shm_size": shm_size}))
    assert problem.startswith("tasks.infer.run_args.shm_size: must be a size such as 512m")


@pytest.mark.parametrize("gpus", ["many", -1, "device=", "device=0;rm", True, [[0]]])
def test_bad_gpus_is_refused(gpus):
    (problem,) = problems_of(model(run_args={"gpus": gpus}))
    assert problem.startswith("tasks.infer.run_args.gpus: ")
