"""Image digests: pinned by passing tests, followed in development, frozen at approval."""

from app.extensions import db
from app.models import BenchmarkStatus, ContainerState
from app.services.reviews import freeze_own_containers
from tests.support.benchmarks import record_benchmark
from tests.support.runs import make_trio, pass_run, start_run

D1, D2, D3 = ("sha256:" + c * 64 for c in "123")


def _digests(value: str) -> dict[str, str]:
    return {"data_preparator": value, "model": value, "evaluator": value}


def test_passing_test_pins_digests_and_development_containers_follow_their_image(member):
    trio = make_trio(member)
    pass_run(start_run(member, trio).id, digests=_digests(D1), hashes={})
    assert [c.image_digest for c in trio] == [D1, D1, D1]

    trio[1].state = ContainerState.OPERATIONAL
    db.session.commit()
    pass_run(start_run(member, trio).id, digests=_digests(D2), hashes={})
    prep, model, evaluator = trio
    assert prep.image_digest == evaluator.image_digest == D2  # rebuilt while in development
    assert model.image_digest == D1  # operational: the pin stands


def test_a_digest_the_owner_gave_is_never_replaced_by_a_test(member):
    trio = make_trio(member)
    trio[0].image_digest, trio[0].digest_given = D3, True
    db.session.commit()
    pass_run(start_run(member, trio).id, digests=_digests(D1), hashes={})
    assert trio[0].image_digest == D3


def test_approval_freezes_containers_with_the_digests_the_administrator_reviewed(member, admin):
    trio = make_trio(member)
    pass_run(start_run(member, trio).id, digests=_digests(D1), hashes={})  # an older pin
    reviewed = start_run(member, trio)
    benchmark = record_benchmark(member, trio, "Chest", BenchmarkStatus.PENDING_APPROVAL)
    benchmark.run_id = reviewed.id
    db.session.commit()
    for container in trio:  # the image was rebuilt; the reviewed run saw D2, then it changed
        container.state = ContainerState.DEVELOPMENT
    pass_run(reviewed.id, digests=_digests(D2), hashes={})
    for container in trio:
        container.image_digest = D3  # a later workflow test on yet another build
    frozen = freeze_own_containers(benchmark, admin)
    assert len(frozen) == 3
    assert all(c.is_operational and c.image_digest == D2 for c in frozen)
