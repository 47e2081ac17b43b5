"""Open live logs are capped per member and per web process, and give their slot back."""

import threading

import pytest

from app.runs.stream_slots import StreamSlots, stream_slots
from tests.support.accounts import make_user
from tests.support.runs import start_run
from tests.support.web import sse_blocks


@pytest.fixture
def config(config):
    config.update(SSE_BLOCK_MS=200, SSE_MAX_PER_MEMBER=2, SSE_MAX_PER_PROCESS=3)
    return config


def open_events(client, run_id: int):
    return client.get(f"/runs/{run_id}/events", buffered=False)


def test_a_members_third_stream_is_refused_with_retry_after(member_client, member, app):
    run_id = start_run(member).id
    first, second = open_events(member_client, run_id), open_events(member_client, run_id)
    try:
        assert first.status_code == second.status_code == 200
        refused = open_events(member_client, run_id)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.headers["Content-Security-Policy"]
        refused.close()
        assert stream_slots(app).open(member.id) == 2
    finally:
        first.close()
        second.close()
    assert stream_slots(app).open() == 0
    again = open_events(member_client, run_id)
    assert again.status_code == 200
    again.close()


def test_the_process_cap_counts_every_members_streams(member_client, member, app):
    other = make_user("other@example.org", "Otto Other")
    # Two streams of another member, open in this process.
    others = [stream_slots(app).take(other.id) for _ in range(2)]
    run_id = start_run(member).id
    first = open_events(member_client, run_id)
    try:
        assert first.status_code == 200
        refused = open_events(member_client, run_id)
        assert refused.status_code == 429  # one of two for this member, but three in all
        refused.close()
    finally:
        first.close()
    for slot in others:
        slot.release()
    assert stream_slots(app).open() == 0


def test_a_client_that_goes_away_before_reading_releases_its_slot(member_client, member, app):
    run_id = start_run(member).id
    response = open_events(member_client, run_id)
    assert stream_slots(app).open(member.id) == 1
    response.close()  # as gunicorn does when the browser leaves
    assert stream_slots(app).open(member.id) == 0


def test_a_client_that_leaves_mid_stream_releases_its_slot(member_client, member, app):
    run_id = start_run(member).id
    response = open_events(member_client, run_id)
    blocks = sse_blocks(response)
    assert next(blocks)["comments"] == ["connected"]
    assert stream_slots(app).open(member.id) == 1
    response.close()
    assert stream_slots(app).open(member.id) == 0


def test_a_stream_that_ends_releases_its_slot(member_client, member, app):
    from tests.support.runs import fail_run

    run_id = start_run(member).id
    fail_run(run_id, "fetch", summary="Bad hash.")
    response = open_events(member_client, run_id)
    list(sse_blocks(response))  # read to its end event
    assert stream_slots(app).open() == 0


def test_counting_is_exact_under_many_threads():
    slots = StreamSlots(per_member=1000, in_all=1000)
    taken = []

    def take_and_release():
        for _ in range(200):
            slot = slots.take(7)
            taken.append(slot is not None)
            slot.release()
            slot.release()  # a second release gives nothing back twice

    threads = [threading.Thread(target=take_and_release) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(taken) and slots.open() == 0


def test_the_process_cap_defaults_to_half_the_web_threads(config):
    from tests.support.app import own_app

    config.update(SSE_MAX_PER_PROCESS=0, WEB_THREADS=10)
    with own_app(config) as other:
        assert stream_slots(other).in_all == 5
