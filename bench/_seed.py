"""Bulk seeding of a load-test database: accounts, containers, benchmarks, runs and their steps.

Rows go in with PostgreSQL's COPY, with explicit ids, so that a seed can be done in parts
(a tenth first, then the rest) and each part refers only to rows that already exist.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from _copy import copy_rows
from _seed_text import config_text, log_text, sha
from werkzeug.security import generate_password_hash

from app.models import (
    AuditEvent,
    Benchmark,
    Container,
    Notification,
    Run,
    RunStep,
    User,
)
from app.models.enums import STEP_NAMES

FULL_SIZES = {
    "users": 300,
    "containers": 10_000,
    "benchmarks": 5_000,
    "runs": 50_000,
    "notifications": 20_000,
}
PENDING_SHARE = 0.04  # about 200 of 5,000 benchmarks wait for review
LOG_SHARE = 0.1  # runs that keep a full log of a few KB
ADMIN_ID, MEMBER_ID = 1, 2
PASSWORD = "load-test password 1"  # every seeded account's
TABLES = ("users", "containers", "benchmarks", "runs", "run_steps", "audit_events", "notifications")
ORGANS = ("chest", "brain", "liver", "lung", "knee", "retina", "skin", "heart", "kidney", "spine")
TASKS = ("xray", "mri", "ct", "segmenter", "classifier", "detector", "grader", "scorer")
ROLES = ("data_preparator", "model", "evaluator")
RUN_STATUSES = ("passed", "failed", "error", "canceled", "queued")
RUN_WEIGHTS = (60, 25, 7, 6, 2)
# The status of a benchmark's latest test, by the benchmark's status.
BENCHMARK_RUN_STATUS = {"testing": "running", "test_failed": "failed"}
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365)


@dataclass
class Seeder:
    """Adds rows up to a fraction of FULL_SIZES, remembering what is already there."""

    dsn: str
    seed: int = 20261128
    done: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FULL_SIZES, 0))
    next_ids: dict[str, int] = field(
        default_factory=lambda: {"steps": 1, "events": 1, "notifications": 1}
    )

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        # One scrypt hash for every account: hashing 300 passwords would dominate the seed.
        self.password_hash = generate_password_hash(PASSWORD)
        self.pending_run_updates: list[tuple[int, int]] = []

    def seed_to(self, fraction: float) -> dict[str, int]:
        """Insert rows until each table holds fraction of its full size; return row counts."""
        target = {name: round(size * fraction) for name, size in FULL_SIZES.items()}
        with psycopg.connect(self.dsn) as conn:
            users = range(self.done["users"] + 1, target["users"] + 1)
            containers = range(self.done["containers"] + 1, target["containers"] + 1)
            benchmarks = range(self.done["benchmarks"] + 1, target["benchmarks"] + 1)
            runs = range(self.done["runs"] + 1, target["runs"] + 1)
            copy_rows(conn, User, self._users(users))
            container_rows = list(self._containers(containers, target["users"]))
            copy_rows(conn, Container, container_rows)
            bench_rows = list(self._benchmarks(benchmarks, target))
            copy_rows(conn, Benchmark, bench_rows)
            run_rows, step_rows = self._runs(runs, bench_rows, target)
            copy_rows(conn, Run, run_rows)
            copy_rows(conn, RunStep, step_rows)
            # A benchmark points to its test run, which exists only now.
            with conn.cursor() as cur:
                cur.executemany(
                    "UPDATE benchmarks SET run_id = %s WHERE id = %s", self.pending_run_updates
                )
            self.pending_run_updates.clear()
            copy_rows(conn, AuditEvent, self._events(bench_rows, container_rows))
            copy_rows(
                conn,
                Notification,
                self._notifications(target["notifications"] - self.done["notifications"], target),
            )
            # Rows came with their ids: the sequences must continue after them.
            for table in TABLES:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            conn.commit()
            # Statistics and visibility maps as autovacuum leaves them soon after a bulk load
            # (index-only scans depend on the latter); doing it now makes runs repeatable.
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
            counts = {
                table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in TABLES
            }
        self.done = target
        return counts

    # Rows

    def _when(self, index: int, size: int) -> datetime:
        """A time stamp that grows with the row's id, over a year, with some jitter."""
        share = index / max(size, 1)
        return EPOCH + SPAN * share + timedelta(seconds=self.rng.randint(0, 3_600))

    def _users(self, ids: range) -> Iterator[dict[str, Any]]:
        for i in ids:
            yield {
                "id": i,
                "email": f"user{i}@example.org",
                "display_name": f"Member {i}",
                "password_hash": self.password_hash,
                "is_admin": i == ADMIN_ID or i % 100 == 0,
                "active": True,
                "created_at": EPOCH + timedelta(minutes=i),
                "mail_opt_outs": "",
            }

    def _containers(self, ids: range, users: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        for i in ids:
            role = ROLES[i % 3]
            name = f"{rng.choice(ORGANS)}-{rng.choice(TASKS)}-{role.split('_')[0]}-{i}"
            when = self._when(i, FULL_SIZES["containers"])
            operational = rng.random() < 0.6
            yield {
                "id": i,
                "owner_id": rng.randint(1, users),
                "name": name,
                "name_key": name.lower(),
                "role": role,
                "image": f"registry.example.org/bench/{role}:{i % 97}",
                "config_url": f"https://files.example.org/containers/{i}/mlcube.yaml",
                "config_sha256": sha("config", i),
                "config_text": config_text(role, i),
                "parameters_url": f"https://files.example.org/containers/{i}/parameters.yaml",
                "parameters_sha256": sha("parameters", i),
                "parameters": {"batch_size": 8, "shape": [28, 28, 1], "seed": i},
                "image_digest": "sha256:" + sha("image", i) if operational else None,
                "digest_given": False,
                "state": "operational" if operational else "development",
                "is_valid": rng.random() > 0.02,
                "created_at": when,
                "updated_at": when,
            }

    def _pick(self, role_index: int, containers: int) -> int:
        """A random existing container id of the role ROLES[role_index]."""
        # Container i has the role ROLES[i % 3] (see _containers); there is no id 0.
        return self.rng.randrange(containers // 3) * 3 + role_index or 3

    def _status(self) -> str:
        draw = self.rng.random()
        if draw < PENDING_SHARE:
            return "pending_approval"
        for status, upto in (
            ("testing", 0.06),
            ("test_failed", 0.09),
            ("changes_requested", 0.11),
            ("rejected", 0.13),
        ):
            if draw < upto:
                return status
        return "approved"

    def _benchmarks(self, ids: range, target: dict[str, int]) -> Iterator[dict[str, Any]]:
        rng = self.rng
        containers = target["containers"]
        for i in ids:
            name = f"{rng.choice(ORGANS).title()} {rng.choice(TASKS)} benchmark {i}"
            when = self._when(i, FULL_SIZES["benchmarks"])
            status = self._status()
            tested = status in ("pending_approval", "approved", "rejected")
            yield {
                "id": i,
                "owner_id": rng.randint(1, target["users"]),
                "name": name,
                "name_key": name.lower(),
                "description": f"Federated evaluation of {name.lower()} models on a shared "
                "demo dataset, with the usual metrics. " * 3,
                "docs_url": f"https://docs.example.org/benchmarks/{i}",
                "demo_url": f"https://files.example.org/benchmarks/{i}/demo.tar.gz",
                "demo_sha256": sha("demo", i),
                "prepared_data_uid": sha("prepared", i) if tested else None,
                "prep_id": self._pick(0, containers),
                "model_id": self._pick(1, containers),
                "evaluator_id": self._pick(2, containers),
                "results": {"accuracy": round(rng.random(), 4), "auc": round(rng.random(), 4)}
                if tested
                else None,
                "status": status,
                "join_policy": "never",
                "join_allowlist": "",
                "make_operational": False,
                "created_at": when,
                "updated_at": when + timedelta(hours=2),
                "submitted_at": when + timedelta(minutes=5),
            }

    def _runs(
        self, ids: range, benchmarks: list[dict[str, Any]], target: dict[str, int]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        runs: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        # The first runs of a part are the new benchmarks' tests, one each.
        tests = iter(benchmarks)
        for i in ids:
            benchmark = next(tests, None)
            if benchmark is not None:
                self.pending_run_updates.append((i, benchmark["id"]))
                row = self._run(
                    i,
                    benchmark["owner_id"],
                    "benchmark",
                    BENCHMARK_RUN_STATUS.get(benchmark["status"], "passed"),
                    (benchmark["prep_id"], benchmark["model_id"], benchmark["evaluator_id"]),
                )
                row["benchmark_id"] = benchmark["id"]
            else:
                row = self._run(
                    i,
                    self.rng.randint(1, target["users"]),
                    "join_request" if self.rng.random() < 0.05 else "workflow_test",
                    self.rng.choices(RUN_STATUSES, RUN_WEIGHTS)[0],
                    tuple(self._pick(role, target["containers"]) for role in range(3)),
                )
            runs.append(row)
            steps.extend(self._steps(i, row["status"], row["started_at"]))
        return runs, steps

    def _run(
        self, i: int, requester: int, kind: str, status: str, slots: tuple[int, ...]
    ) -> dict[str, Any]:
        rng = self.rng
        when = self._when(i, FULL_SIZES["runs"])
        started = None if status == "queued" else when + timedelta(seconds=3)
        finished = None
        if status not in ("queued", "running"):
            finished = started + timedelta(seconds=rng.randint(20, 900))
        failed = status in ("failed", "error")
        passed = status == "passed"
        demo = sha("demo", i % 500)
        return {
            "id": i,
            "requester_id": requester,
            "kind": kind,
            "status": status,
            "benchmark_id": None,
            "prep_id": slots[0],
            "model_id": slots[1],
            "evaluator_id": slots[2],
            "inputs": {
                "slots": {
                    role: {"container_id": cid, "name": f"container-{cid}"}
                    for role, cid in zip(ROLES, slots, strict=True)
                }
            },
            "demo_url": f"https://files.example.org/demo/{i % 500}.tar.gz",
            "demo_sha256": demo,
            "dispatched": True,
            "cancel_requested": status == "canceled",
            "worker_name": f"worker-{i % 4}" if started else None,
            "results": {"accuracy": round(rng.random(), 4)} if passed else None,
            "statistics": {"cases": rng.randint(10, 500)} if started else None,
            "prepared_data_uid": sha("prepared-run", i) if passed else None,
            "hashes": {"demo": demo},
            "digests": {
                role: "sha256:" + sha("image", cid) for role, cid in zip(ROLES, slots, strict=True)
            }
            if started
            else None,
            "failure_cause": "step_failed" if failed else None,
            "failure_summary": "The infer step exited with code 1." if failed else None,
            "failure_log_tail": "Traceback (most recent call last):\n  ...\nValueError\n"
            if failed
            else None,
            "log_text": log_text(rng) if rng.random() < LOG_SHARE else None,
            "created_at": when,
            "started_at": started,
            "finished_at": finished,
        }

    def _steps(self, run_id: int, status: str, started: datetime | None) -> list[dict[str, Any]]:
        failing = self.rng.randrange(len(STEP_NAMES)) if status in ("failed", "error") else None
        rows = []
        clock = started
        for position, name in enumerate(STEP_NAMES):
            begin = end = None
            if started is None:
                step_status = "pending"
            elif failing is not None and position > failing:
                step_status = "skipped"
            elif status == "running" and position >= 3:
                step_status = "running" if position == 3 else "pending"
                begin = clock if position == 3 else None
            else:
                begin = clock
                end = clock = clock + timedelta(seconds=self.rng.randint(1, 120))
                step_status = "failed" if position == failing else "passed"
            rows.append(
                {
                    "id": self._next("steps"),
                    "run_id": run_id,
                    "name": name,
                    "position": position,
                    "status": step_status,
                    "started_at": begin,
                    "finished_at": end,
                    "exit_code": (1 if step_status == "failed" else 0) if end else None,
                    "message": "Exited with code 1." if step_status == "failed" else None,
                    "log_tail": f"{name} done\n" * 5 if end else None,
                }
            )
        return rows

    def _events(
        self, benchmarks: list[dict[str, Any]], containers: list[dict[str, Any]]
    ) -> Iterator[dict[str, Any]]:
        for row in containers:
            yield self._event(
                row["owner_id"], "register", "container", row["id"], row["created_at"]
            )
        follow = {
            "approved": [("test_passed", None), ("approve", ADMIN_ID)],
            "pending_approval": [("test_passed", None)],
            "test_failed": [("test_failed", None)],
            "changes_requested": [("test_passed", None), ("request_changes", ADMIN_ID)],
            "rejected": [("test_passed", None), ("reject", ADMIN_ID)],
            "testing": [],
        }
        for bench in benchmarks:
            when = bench["submitted_at"]
            yield self._event(bench["owner_id"], "submit", "benchmark", bench["id"], when)
            for step, (action, actor) in enumerate(follow[bench["status"]], start=1):
                reason = "Looks complete; thank you." if actor else None
                at = when + timedelta(minutes=10 * step)
                yield self._event(actor, action, "benchmark", bench["id"], at, reason)

    def _event(
        self,
        actor: int | None,
        action: str,
        subject_type: str,
        subject_id: int,
        when: datetime,
        reason: str | None = None,
    ) -> dict[str, Any]:
        return {
            "id": self._next("events"),
            "actor_id": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "reason": reason,
            "created_at": when,
        }

    def _notifications(self, count: int, target: dict[str, int]) -> Iterator[dict[str, Any]]:
        rng = self.rng
        for _ in range(count):
            nid = self._next("notifications")
            when = self._when(nid, FULL_SIZES["notifications"])
            yield {
                "id": nid,
                "user_id": rng.randint(1, target["users"]),
                "message": "Your benchmark's compatibility test passed.",
                "url": f"/benchmarks/{rng.randint(1, max(target['benchmarks'], 1))}",
                "created_at": when,
                "read_at": when + timedelta(hours=1) if rng.random() < 0.8 else None,
            }

    def _next(self, counter: str) -> int:
        value = self.next_ids[counter]
        self.next_ids[counter] = value + 1
        return value
