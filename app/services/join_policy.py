"""The join policy of a benchmark: which passing models join without the owner's decision."""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from app.extensions import db
from app.models import Benchmark, User, normalize_email
from app.models.enums import JOIN_POLICIES
from app.services.audit import record_event
from app.services.errors import Refusal

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
# One email a line, or separated by commas or semicolons: not by spaces, so that a line
# typed with a space in it is named whole in the error.
_SEPARATOR = re.compile(r"\s*[\n,;]\s*")


# How a "listed emails" policy is recorded in the audit trail: "list: ana@x.org, ben@y.org".
LISTED = ": "


def can_set_policy(benchmark: Benchmark, user: User) -> bool:
    """The benchmark's owner and administrators set its join policy."""
    return user.is_authenticated and (user.is_admin or benchmark.owner_id == user.id)


def allowlist_of(benchmark: Benchmark) -> set[str]:
    """The normalised emails of the benchmark's allow-list."""
    return {normalize_email(e) for e in _SEPARATOR.split(benchmark.join_allowlist or "") if e}


def set_join_policy(benchmark: Benchmark, policy: str, allowlist: str, by: User) -> Benchmark:
    """Set which passing models join without a decision: never, always, or listed emails."""
    if not can_set_policy(benchmark, by):
        raise PermissionError("only the benchmark's owner or an administrator sets its policy")
    if policy not in JOIN_POLICIES:
        raise Refusal(field_errors={"policy": ["Choose one of the three choices."]})
    emails = [normalize_email(e) for e in _SEPARATOR.split(allowlist or "") if e.strip()]
    wrong = [e for e in emails if not _EMAIL.match(e)]
    if wrong:
        raise Refusal(
            field_errors={
                "allowlist": [
                    f"These are not email addresses: {', '.join(wrong)}. Put one per line."
                ]
            }
        )
    if policy == "list" and not emails:
        raise Refusal(
            field_errors={
                "allowlist": ["Give at least one email address, or choose another policy."]
            }
        )
    benchmark.join_policy = policy
    benchmark.join_allowlist = "\n".join(dict.fromkeys(emails))  # keep order, drop repeats
    listed = f"{LISTED}{', '.join(dict.fromkeys(emails))}" if policy == "list" else ""
    record_event(by, "set_join_policy", benchmark, f"{policy}{listed}")
    db.session.commit()
    return benchmark


def without_allowlists(events: Iterable[Any]) -> list[Any]:
    """Return audit rows with the emails of join allow-lists replaced by how many they were.

    Only a benchmark's owner and administrators see who is on its list; other members read
    "listed emails (3)".
    """
    shown = []
    for event in events:
        if event.action == "set_join_policy" and (event.reason or "").startswith("list" + LISTED):
            count = len(event.reason[len("list" + LISTED) :].split(", "))
            event = SimpleNamespace(**{**event._asdict(), "reason": f"listed emails ({count})"})
        shown.append(event)
    return shown
