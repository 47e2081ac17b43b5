"""How join requests read on the pages: status words, badge classes, results side by side."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.joins import bp
from app.runs.values import SHOWN_VALUES, clip, leaves, text_of

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


@dataclass(frozen=True)
class Comparison:
    """The first metrics of two results side by side, and how many metrics there are in all."""

    rows: list[tuple[str, str | None, str | None]]
    total: int

    @property
    def partial(self) -> bool:
        return self.total > len(self.rows)


def side_by_side(
    reference: Mapping[str, Any] | None,
    candidate: Mapping[str, Any] | None,
    limit: int = SHOWN_VALUES,
) -> Comparison:
    """Pair each metric of the reference model's results with the same one of a candidate."""
    ref, cand = dict(leaves(reference or {}, "")), dict(leaves(candidate or {}, ""))
    extra = [key for key in cand if key not in ref]
    rows = []
    for key in list(ref)[:limit] + extra[: max(0, limit - len(ref))]:
        rows.append((clip(key), _shown(ref, key), _shown(cand, key)))
    return Comparison(rows, len(ref) + len(extra))


def _shown(values: dict[str, Any], key: str) -> str | None:
    return text_of(values[key]) if key in values else None
