"""How runs read on the pages: durations, flattened result tables, log tails."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.database import utcnow
from app.durations import format_duration
from app.runs import bp
from workers.roles import SLOTS, Role

STEP_LABELS = {
    "fetch": "Fetch",
    "prepare": "Prepare",
    "sanity_check": "Sanity check",
    "statistics": "Statistics",
    "infer": "Infer",
    "evaluate": "Evaluate",
}
STEP_HELP = {
    "fetch": "download the demo data and the containers' files, find the images",
    "prepare": "the data preparator turns the raw demo data into prepared data",
    "sanity_check": "the data preparator checks the prepared data",
    "statistics": "the data preparator describes the prepared data",
    "infer": "the model makes its predictions",
    "evaluate": "the evaluator scores the predictions",
}
STATUS_WORDS = {
    "queued": "Queued",
    "running": "Running",
    "passed": "Passed",
    "failed": "Failed",
    "canceled": "Canceled",
    "error": "Platform error",
    "pending": "Waiting",
    "skipped": "Skipped",
}
# What the live page's script says when a run moves on, until the page reloads with the
# details: each status's word, and a sentence (static/js/run_live.js reads both).
LIVE_SENTENCES = {
    "queued": "Waiting for a worker.",
    "running": "Running.",
    "passed": "All six steps passed. Loading the results…",
    "failed": "The test failed. Loading the details…",
    "canceled": "The test was canceled.",
    "error": "Benchgate could not finish this test. Loading the details…",
}
bp.add_app_template_global({"status": STATUS_WORDS, "sentences": LIVE_SENTENCES}, "live_words")
KIND_WORDS = {
    "workflow_test": "Workflow test",
    "benchmark": "Benchmark test",
    "join_request": "Join request test",
}


bp.add_app_template_filter(format_duration, "duration")


@bp.app_template_filter("elapsed")
def format_elapsed(started_at: datetime | None, finished_at: datetime | None = None) -> str:
    """Say how long a run took, or has been running when it has not finished; — before it starts."""
    if started_at is None:
        return "—"
    return format_duration(((finished_at or utcnow()) - started_at).total_seconds())


@bp.app_template_filter("run_status")
def status_words(value: Any) -> str:
    """The word a page shows for a run or step status."""
    raw = getattr(value, "value", value)
    return STATUS_WORDS.get(str(raw), str(raw))


@bp.app_template_filter("run_kind")
def kind_words(value: Any) -> str:
    """The words a page shows for a run's kind."""
    raw = getattr(value, "value", value)
    return KIND_WORDS.get(str(raw), str(raw))


@bp.app_template_filter("step_label")
def step_label(name: str) -> str:
    """The readable name of a step."""
    return STEP_LABELS.get(name, name)


def format_value(value: Any) -> str:
    """Write one result value as text; NaN and infinities as words rather than a crash."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in value):
            return ", ".join(format_value(item) for item in value) or "[]"
        return json.dumps(value, default=str)
    return str(value)


@bp.app_template_filter("flatten")
def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Turn a nested mapping into (dotted key, text) rows, in the mapping's order."""
    if not isinstance(value, Mapping):
        return [(prefix or "value", format_value(value))]
    if not value and prefix:
        return [(prefix, "{}")]
    rows: list[tuple[str, str]] = []
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping):
            rows.extend(flatten(item, name))
        else:
            rows.append((name, format_value(item)))
    return rows


@bp.app_template_filter("slot_summary")
def slot_summary(spec: Mapping[str, Any] | None) -> str:
    """A run input in a few words: the container's name, or where its links point."""
    spec = spec or {}
    if spec.get("container_id") is not None:
        return str(spec.get("name") or f"container #{spec['container_id']}")
    url = spec.get("config_url") or ""
    parts = urlsplit(url)
    folders = [p for p in parts.path.split("/") if p][:-1]
    return f"link to {parts.hostname or url}" + (f" …/{folders[-1]}" if folders else "")


@bp.app_template_filter("slot_summaries")
def slot_summaries(inputs: Mapping[str, Any] | None) -> list[str]:
    """The three inputs of a run in a few words each: preparator, model, evaluator."""
    slots = (inputs or {}).get("slots") or {}
    return [slot_summary(slots.get(slot)) for slot in SLOTS]


def last_lines(text: str | None, count: int) -> tuple[list[str], int]:
    """Return the last `count` lines of text and how many lines it has in all."""
    if not text:
        return [], 0
    lines = text.splitlines()
    return lines[-count:], len(lines)


SLOT_WORDS = {role.value: role.label for role in Role}
FILE_WORDS = {
    "config": "configuration file",
    "parameters": "parameters file",
    "additional_files": "additional-files archive",
}


@bp.app_template_filter("hash_label")
def hash_label(key: str) -> str:
    """Name a recorded hash in words: 'model.config' -> 'Model: configuration file'."""
    if key == "demo":
        return "Demo dataset archive"
    slot, _, kind = key.partition(".")
    return f"{SLOT_WORDS.get(slot, slot)}: {FILE_WORDS.get(kind, kind)}"


@bp.app_template_filter("slot_label")
def slot_label(slot: str) -> str:
    """Name a container slot in words."""
    return SLOT_WORDS.get(slot, slot)
