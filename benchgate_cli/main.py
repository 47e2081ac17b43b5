"""`benchgate`: start and follow workflow tests, register containers, submit benchmarks."""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import yaml

from benchgate_cli import __version__
from benchgate_cli.client import ApiProblem, Client

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
SLOTS = (("prep", "data_preparator"), ("model", "model"), ("evaluator", "evaluator"))


class UsageError(Exception):
    """A problem with the command line itself (exit 2)."""


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def slot_input(value: str, label: str, params: str | None, files: str | None) -> dict[str, Any]:
    """Read --prep/--model/--evaluator: a registered container's id, or a configuration link."""
    value = value.strip()
    if value.isdigit():
        if params or files:
            raise UsageError(
                f"--{label}-params and --{label}-files go with a configuration link; "
                f"container #{value} already has its own."
            )
        return {"container": int(value)}
    if not is_http_url(value):
        raise UsageError(
            f"--{label}: give a registered container's id (e.g. 12) or an http(s) link to its "
            "container_config.yaml."
        )
    spec = {"config_url": value}
    for option, key, link in (
        (f"--{label}-params", "parameters_url", params),
        (f"--{label}-files", "additional_files_url", files),
    ):
        if link:
            if not is_http_url(link):
                raise UsageError(f"{option}: give an http:// or https:// link.")
            spec[key] = link
    return spec


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def describe_event(kind: str, data: dict[str, Any]) -> str | None:
    """One line of output for an event, as `flask compat-test` prints it."""
    if kind == "log":
        return "\n".join(
            f"[{item.get('step', 'run')}] {item.get('line', '')}" for item in data.get("lines", [])
        )
    if kind == "step":
        text = f"== step {data.get('name')}: {data.get('status')}"
        started, finished = data.get("started_at"), data.get("finished_at")
        if started and finished:
            seconds = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
            text += f" ({duration(seconds.total_seconds())})"
        if data.get("message"):
            text += f": {data['message']}"
        return text
    if kind == "status":
        return f"== run: {data.get('status')}"
    return None


def print_outcome(run: dict[str, Any]) -> int:
    """Say how the run ended, with its results as YAML; return the exit status."""
    status = run["status"]
    print(f"Run #{run['id']} {status}.")
    if status == "passed":
        print("Results:")
        print(yaml.safe_dump(run.get("results") or {}, sort_keys=False, allow_unicode=True), end="")
        return EXIT_PASSED
    if run.get("failure_summary"):
        print(run["failure_summary"])
    return EXIT_FAILED if status == "failed" else EXIT_ERROR


def follow(client: Client, run_id: int, timeout: float | None) -> int:
    """Print the run's events as they come; return the exit status of its outcome."""
    deadline = time.monotonic() + timeout if timeout is not None else None
    for kind, data in client.events(run_id, deadline):
        if kind == "signed_out":
            print(
                "The token stopped working (revoked, expired or account deactivated).",
                file=sys.stderr,
            )
            return EXIT_ERROR
        line = describe_event(kind, data)
        if line:
            print(line, flush=True)
    run = client.call("GET", f"/runs/{run_id}")
    if run["status"] in ("queued", "running"):
        print(f"Gave up after {timeout:g} s; run #{run_id} is still going.", file=sys.stderr)
        return EXIT_ERROR
    return print_outcome(run)


def command_test(args: argparse.Namespace) -> int:
    if not is_http_url(args.demo):
        raise UsageError("--demo: give an http:// or https:// link to the demo archive.")
    if args.demo_hash and not SHA256_RE.match(args.demo_hash.strip()):
        raise UsageError("--demo-hash: a SHA-256 is 64 characters, each 0-9 or a-f.")
    body: dict[str, Any] = {"demo_url": args.demo}
    if args.demo_hash:
        body["demo_sha256"] = args.demo_hash.strip()
    for label, slot in SLOTS:
        body[slot] = slot_input(
            getattr(args, label),
            label,
            getattr(args, f"{label}_params"),
            getattr(args, f"{label}_files"),
        )
    client = Client.from_environment(args.server)
    me = client.call("GET", "/me")
    try:
        run = client.call("POST", "/runs", body)
    except ApiProblem as problem:
        if problem.status == 422:
            raise UsageError("The run was refused: " + problem.describe()) from None
        raise
    print(f"Run #{run['id']} queued for {me['email']} (page: {run['links']['page']}).", flush=True)
    if not run.get("dispatched"):
        print(
            "The queue (Redis) cannot be reached. The run is saved and starts when Redis is "
            "back; follow it on its page.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return follow(client, run["id"], args.timeout)


def command_runs_show(args: argparse.Namespace) -> int:
    client = Client.from_environment(args.server)
    run = client.call("GET", f"/runs/{args.run_id}")
    if args.follow and run["status"] in ("queued", "running"):
        return follow(client, run["id"], args.timeout)
    if args.log:
        print(client.text(f"/runs/{args.run_id}/log.txt"), end="")
    summary = {
        "id": run["id"],
        "kind": run["kind"],
        "status": run["status"],
        "requester": run["requester"]["name"],
        "created_at": run["created_at"],
        "finished_at": run["finished_at"],
        "steps": {step["name"]: step["status"] for step in run["steps"]},
        "results": run.get("results"),
        "failure_summary": run.get("failure_summary"),
    }
    print(yaml.safe_dump(summary, sort_keys=False, allow_unicode=True), end="")
    return {"passed": EXIT_PASSED, "failed": EXIT_FAILED}.get(run["status"], EXIT_ERROR)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="benchgate",
        description="Benchgate from a terminal or a CI job. The token is read from "
        "$BENCHGATE_TOKEN; the server from --server or $BENCHGATE_SERVER.",
    )
    top.add_argument("--version", action="version", version=f"benchgate {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    def with_server(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--server", help="Benchgate's address, e.g. https://benchgate.example.org")
        return sub

    test = with_server(
        commands.add_parser(
            "test",
            help="Run a compatibility test and print its log; exit 0 passed, 1 failed, 2 "
            "otherwise.",
        )
    )
    test.add_argument("--prep", required=True, help="Data preparator: container id or config link.")
    test.add_argument("--model", required=True, help="Model: container id or config link.")
    test.add_argument("--evaluator", required=True, help="Evaluator: container id or config link.")
    test.add_argument("--demo", required=True, help="Link to the demo dataset (.tar.gz).")
    test.add_argument("--demo-hash", help="Expected SHA-256 of the demo archive.")
    for label in ("prep", "model", "evaluator"):
        test.add_argument(f"--{label}-params", help=f"Parameters link of a --{label} link.")
        test.add_argument(f"--{label}-files", help=f"Additional-files link of a --{label} link.")
    test.add_argument("--timeout", type=float, help="Give up after SECONDS (exit 2).")
    test.set_defaults(handler=command_test)

    runs = commands.add_parser("runs", help="Workflow tests").add_subparsers(
        dest="runs_command", required=True
    )
    show = with_server(runs.add_parser("show", help="Show a run as YAML (exit as its outcome)."))
    show.add_argument("run_id", type=int)
    show.add_argument("--log", action="store_true", help="Print its whole log first.")
    show.add_argument("--follow", action="store_true", help="Follow it live until it ends.")
    show.add_argument("--timeout", type=float, help="With --follow: give up after SECONDS.")
    show.set_defaults(handler=command_runs_show)

    from benchgate_cli.resources import add_commands

    add_commands(commands, with_server)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except ApiProblem as problem:
        print(f"Error: {problem.describe()}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
