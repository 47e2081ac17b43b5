"""How benchmarks read on the pages: status words, what each status means, history words."""

from __future__ import annotations

from typing import Any

from app.benchmarks import bp

STATUS_WORDS = {
    "testing": "Being tested",
    "test_failed": "Test failed",
    "pending_approval": "Awaiting review",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "rejected": "Rejected",
}

# What each status means for the owner, and what to do next.
STATUS_NEXT = {
    "testing": "Benchgate is running the three containers together on the demo data. "
    "Nothing to do: you get a notification when the test ends.",
    "test_failed": "The compatibility test did not pass. Open the test to see which step "
    "failed and why. Fix the container or the demo data, then edit the benchmark (saving "
    "tests it again), or press “Test again” if the problem was temporary.",
    "pending_approval": "The test passed. An administrator is looking at the evidence; you get "
    "a notification with the decision. The benchmark cannot be edited meanwhile.",
    "changes_requested": "An administrator asked for changes: read the reason in the history. "
    "Edit the benchmark; saving tests it again and sends it back for review when it passes.",
    "approved": "Every member can see the benchmark and ask to join it with a model. "
    "It can no longer be edited.",
    "rejected": "An administrator rejected the benchmark: read the reason in the history. "
    "The decision is final; to try again, submit a new benchmark.",
}

ACTION_WORDS = {
    "submit": "Submitted",
    "edit": "Edited",
    "resubmit": "Sent to a new test",
    "test_passed": "Test passed",
    "test_failed": "Test failed",
    "approve": "Approved",
    "request_changes": "Changes requested",
    "reject": "Rejected",
    "revoke": "Approval revoked",
    # Containers
    "register": "Registered",
    "make_operational": "Made operational",
    "invalidate": "Marked not valid",
    "rehost": "Re-hosted",
    # Join requests and policies
    "ask_to_join": "Asked to join",
    "set_join_policy": "Join policy set",
    # Accounts
    "make_admin": "Made an administrator",
    "remove_admin": "Administrator rights removed",
    "deactivate": "Deactivated",
    "reactivate": "Reactivated",
    "change_password": "Password changed",
    "reset_password": "New password given by an administrator",
}


@bp.app_template_filter("benchmark_status")
def status_words(value: Any) -> str:
    """The words a page shows for a benchmark status."""
    raw = str(getattr(value, "value", value))
    return STATUS_WORDS.get(raw, raw.replace("_", " "))


@bp.app_template_filter("benchmark_action")
def action_words(action: str) -> str:
    """The words the history shows for an audit action."""
    return ACTION_WORDS.get(action, action.replace("_", " ").capitalize())


@bp.app_template_global("benchmark_next")
def next_step(value: Any) -> str:
    """What a status means and what the owner can do next."""
    return STATUS_NEXT.get(str(getattr(value, "value", value)), "")
