"""How join requests read on the pages: status words and the badge class of each status."""

from __future__ import annotations

from typing import Any

from app.joins import bp

STATUS_WORDS = {
    "testing": "Being tested",
    "test_failed": "Test failed",
    "pending": "Awaiting the owner's decision",
    "approved": "Joined",
    "rejected": "Rejected",
}

# The benchmark badge styles that carry the same meaning.
BADGE_CLASSES = {"pending": "pending_approval"}


def _raw(value: Any) -> str:
    return str(getattr(value, "value", value))


@bp.app_template_filter("join_status")
def status_words(value: Any) -> str:
    """The words a page shows for a join request's status."""
    return STATUS_WORDS.get(_raw(value), _raw(value).replace("_", " "))


@bp.app_template_filter("join_badge_class")
def badge_class(value: Any) -> str:
    """The badge style of a join request's status."""
    return "bm-" + BADGE_CLASSES.get(_raw(value), _raw(value))
