"""What the benchmark page shows about joining: the ask form, the requests, the policy form."""

from __future__ import annotations

from typing import Any

from app.joins.display import side_by_side
from app.joins.forms import JoinPolicyForm
from app.models import Benchmark, BenchmarkStatus, User
from app.services import join_requests as joins
from app.services.containers import own_models


def benchmark_panel(benchmark: Benchmark, user: User) -> dict[str, Any]:
    """The join section of a benchmark's page, for this member."""
    manage = joins.can_manage(benchmark, user)
    approved = benchmark.status == BenchmarkStatus.APPROVED
    panel: dict[str, Any] = {
        "open": approved,
        # Only the member's own models here: every member opens this page, and the operational
        # models others share are thousands on a busy portal (the ask page lists them).
        "models": own_models(user) if approved else [],
        "manage": manage,
        "mine": joins.asked_by_to(user, benchmark),
        "requests": joins.requests_for(benchmark) if manage else [],
        "side_by_side": side_by_side,
        "can_decide": lambda request: joins.can_decide(request, user),
        "policy_form": None,
    }
    if manage:
        panel["policy_form"] = JoinPolicyForm(
            formdata=None, policy=benchmark.join_policy, allowlist=benchmark.join_allowlist
        )
    return panel
