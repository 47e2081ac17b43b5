"""Fixtures of the join-request tests: an owner's approved benchmark, a member's model."""

import pytest

from app.extensions import db
from app.models import BenchmarkStatus
from app.services.join_requests import ask_to_join
from tests.factories import make_user
from tests.web.benchmark_helpers import RESULTS, make_trio, record_benchmark
from tests.web.container_helpers import make_container
from tests.web.joins.helpers import finish


@pytest.fixture
def owner(app):
    return make_user("olga@example.org", "Olga Owner")


@pytest.fixture
def benchmark(owner):
    """An approved benchmark of the owner, with its reference model's results."""
    benchmark = record_benchmark(owner, make_trio(owner), "Chest 2025", BenchmarkStatus.APPROVED)
    benchmark.results = RESULTS
    benchmark.demo_sha256 = "cd" * 32
    db.session.commit()
    return benchmark


@pytest.fixture
def model(member):
    return make_container(member, "Mia DenseNet")


@pytest.fixture
def pending(member, benchmark, model):
    return finish(ask_to_join(benchmark, model, member))
