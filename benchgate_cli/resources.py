"""`benchgate containers register` and `benchgate benchmarks submit`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import yaml

from benchgate_cli.client import ApiProblem, Client

EXIT_OK, EXIT_REFUSED = 0, 2


def _show(record: dict[str, Any], keys: list[str]) -> None:
    print(yaml.safe_dump({k: record.get(k) for k in keys}, sort_keys=False), end="")


def _refused(problem: ApiProblem) -> int:
    print(f"Refused: {problem.describe()}")
    return EXIT_REFUSED


def command_register(args: argparse.Namespace) -> int:
    body = {
        "name": args.name,
        "config_url": args.config,
        "config_sha256": args.config_hash,
        "parameters_url": args.params,
        "parameters_sha256": args.params_hash,
        "additional_files_url": args.files,
        "additional_files_sha256": args.files_hash,
        "image_digest": args.digest,
        "operational": args.operational,
    }
    client = Client.from_environment(args.server)
    try:
        container = client.call("POST", "/containers", {k: v for k, v in body.items() if v})
    except ApiProblem as problem:
        if problem.status == 422:
            return _refused(problem)
        raise
    print(f"Container #{container['id']} registered (page: {container['links']['page']}).")
    _show(container, ["id", "name", "role", "state", "image", "config_sha256"])
    return EXIT_OK


def command_submit(args: argparse.Namespace) -> int:
    body = {
        "name": args.name,
        "description": args.description,
        "docs_url": args.docs,
        "demo_url": args.demo,
        "demo_sha256": args.demo_hash,
        "prep_id": args.prep,
        "model_id": args.model,
        "evaluator_id": args.evaluator,
        "make_operational": not args.keep_in_development,
    }
    client = Client.from_environment(args.server)
    try:
        benchmark = client.call("POST", "/benchmarks", {k: v for k, v in body.items() if v})
    except ApiProblem as problem:
        if problem.status == 422:
            return _refused(problem)
        raise
    print(
        f"Benchmark #{benchmark['id']} submitted; its test is run #{benchmark['run_id']} "
        f"(follow it with: benchgate runs show {benchmark['run_id']} --follow)."
    )
    _show(benchmark, ["id", "name", "status", "run_id"])
    return EXIT_OK


def add_commands(commands, with_server: Callable) -> None:
    """Add the commands about containers and benchmarks."""
    containers = commands.add_parser("containers", help="Containers").add_subparsers(
        dest="containers_command", required=True
    )
    register = with_server(
        containers.add_parser("register", help="Register a container from its links.")
    )
    register.add_argument("--name", required=True, help="Unique name, e.g. 'Chest prep 1.0'.")
    register.add_argument("--config", required=True, help="Link to container_config.yaml.")
    register.add_argument("--config-hash", help="Expected SHA-256 of the configuration file.")
    register.add_argument("--params", help="Link to parameters.yaml.")
    register.add_argument("--params-hash", help="Expected SHA-256 of the parameters file.")
    register.add_argument("--files", help="Link to the additional files (.tar.gz).")
    register.add_argument("--files-hash", help="Expected SHA-256 of the additional files.")
    register.add_argument("--digest", help="Expected image digest (sha256:...).")
    register.add_argument(
        "--operational", action="store_true", help="Freeze it now (final): no more edits."
    )
    register.set_defaults(handler=command_register)

    benchmarks = commands.add_parser("benchmarks", help="Benchmarks").add_subparsers(
        dest="benchmarks_command", required=True
    )
    submit = with_server(
        benchmarks.add_parser("submit", help="Submit a benchmark; its test starts at once.")
    )
    submit.add_argument("--name", required=True)
    submit.add_argument("--description", required=True)
    submit.add_argument("--docs", help="Link to the benchmark's documentation.")
    submit.add_argument("--demo", required=True, help="Link to the demo dataset (.tar.gz).")
    submit.add_argument("--demo-hash", help="Expected SHA-256 of the demo archive.")
    submit.add_argument("--prep", type=int, required=True, help="Data preparator's id.")
    submit.add_argument("--model", type=int, required=True, help="Reference model's id.")
    submit.add_argument("--evaluator", type=int, required=True, help="Evaluator's id.")
    submit.add_argument(
        "--keep-in-development",
        action="store_true",
        help="Do not make your containers operational when the benchmark is approved.",
    )
    submit.set_defaults(handler=command_submit)
