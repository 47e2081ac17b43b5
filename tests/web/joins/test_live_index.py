"""The database's own guard: one live join request per benchmark and model (a partial index)."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import JoinRequest, JoinRequestStatus
from app.models.join_request import LIVE_INDEX


def add_request(benchmark, model, member, status: JoinRequestStatus) -> JoinRequest:
    request = JoinRequest(
        benchmark_id=benchmark.id, model_id=model.id, requested_by_id=member.id, status=status
    )
    db.session.add(request)
    db.session.flush()
    return request


def index_definition() -> str:
    if db.engine.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    return db.session.execute(text(query), {"name": LIVE_INDEX}).scalar_one()


def test_the_index_is_unique_and_partial_on_this_database(app):
    definition = index_definition().upper()
    assert "UNIQUE" in definition and "WHERE" in definition and "STATUS" in definition


def test_ended_requests_stay_beside_a_new_live_one_but_two_live_ones_cannot(
    benchmark, model, member
):
    add_request(benchmark, model, member, JoinRequestStatus.REJECTED)
    add_request(benchmark, model, member, JoinRequestStatus.REJECTED)
    add_request(benchmark, model, member, JoinRequestStatus.TESTING)
    with pytest.raises(IntegrityError):
        add_request(benchmark, model, member, JoinRequestStatus.APPROVED)
    db.session.rollback()
