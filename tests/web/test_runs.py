"""The workflow-test form, the lists of runs and the run page."""

import json
import re
from html import unescape

from sqlalchemy import select

from app.extensions import db
from app.models import Role, Run, RunStatus, StepStatus
from app.runs.display import flatten, format_duration, slot_summary
from app.services.queue import get_queue
from app.services.reaper import housekeeping
from app.settings import reconfigure
from tests.support.accounts import make_user, sign_in_as
from tests.support.runs import HASH, fail_run, make_container, make_trio, pass_run, start_run
from tests.support.web import post_form

NEW = "/runs/new"
LINKS = "https://files.example.org"


def select_options(body: str, name: str) -> str:
    """The HTML of the <select> named name."""
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.S)
    assert match, f"no select {name}"
    return match.group(1)


def error_of(body: str, field_id: str) -> str:
    """The text of the error shown next to a field."""
    match = re.search(rf'<div class="error" id="{field_id}-error">(.*?)</div>', body, re.S)
    return unescape(match.group(1)) if match else ""


def registered(prep, model, evaluator, **extra) -> dict:
    return {
        "data_preparator-source": "registered",
        "data_preparator-container": str(prep.id),
        "model-source": "registered",
        "model-container": str(model.id),
        "evaluator-source": "registered",
        "evaluator-container": str(evaluator.id),
        "demo_url": "https://files.example.org/demo.tar.gz",
        **extra,
    }


def by_links(**extra) -> dict:
    data = {"demo_url": f"{LINKS}/demo.tar.gz"}
    for slot in ("data_preparator", "model", "evaluator"):
        data[f"{slot}-source"] = "links"
        data[f"{slot}-config_url"] = f"{LINKS}/{slot}/container_config.yaml"
    data.update(extra)
    return data


def run_count() -> int:
    return db.session.scalar(select(db.func.count(Run.id)))


# The workflow-test form


def test_form_offers_own_and_others_operational_containers_for_each_role(member_client, member):
    other = make_user("olga@example.org", "Olga Other")
    make_container(member, "My prep", Role.DATA_PREPARATOR)
    make_container(member, "My broken prep", Role.DATA_PREPARATOR, valid=False)
    make_container(other, "Shared prep", Role.DATA_PREPARATOR, operational=True)
    make_container(other, "Draft prep", Role.DATA_PREPARATOR)
    make_container(other, "Shared model", Role.MODEL, operational=True)
    body = member_client.get(NEW).get_data(as_text=True)
    preps = select_options(body, "data_preparator-container")
    assert "My prep" in preps and "Shared prep" in preps
    assert "Draft prep" not in preps and "My broken prep" not in preps
    assert "Shared model" not in preps
    assert "Shared model" in select_options(body, "model-container")
    assert 'name="evaluator-config_url"' in body
    assert "paths.yaml" in body and "tar -czf demo_data.tar.gz demo_data paths.yaml" in body


def test_registered_containers_start_a_run_and_open_its_page(member_client, member):
    prep, model, evaluator = make_trio(member)
    response = post_form(member_client, NEW, registered(prep, model, evaluator))
    run = db.session.scalar(select(Run))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/runs/{run.id}"
    assert (run.prep_id, run.model_id, run.evaluator_id) == (prep.id, model.id, evaluator.id)
    assert run.requester_id == member.id and run.dispatched
    assert [s.status for s in run.steps] == [StepStatus.PENDING] * 6
    page = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Waiting for a worker: number 1 in the queue" in page
    assert f'href="/containers/{prep.id}"' in page


def test_a_container_of_the_wrong_role_is_refused_next_to_its_slot(member_client, member):
    prep, model, evaluator = make_trio(member)
    data = registered(prep, model, evaluator, **{"data_preparator-container": str(model.id)})
    body = post_form(member_client, NEW, data).get_data(as_text=True)
    message = error_of(body, "data_preparator-container")
    assert "Chest model is a model, not a data preparator." in message
    assert run_count() == 0


def test_another_members_development_container_cannot_be_used(member_client, member):
    prep, model, evaluator = make_trio(member)
    hidden = make_container(make_user("o@example.org", "O"), "Draft", Role.MODEL)
    data = registered(prep, model, evaluator, **{"model-container": str(hidden.id)})
    body = post_form(member_client, NEW, data).get_data(as_text=True)
    assert "Choose one of the containers in the list." in error_of(body, "model-container")
    assert run_count() == 0


def test_links_start_an_ad_hoc_run_with_lower_cased_hashes(member_client, member):
    data = by_links(
        **{
            "model-config_sha256": HASH.upper(),
            "model-parameters_url": f"{LINKS}/model/parameters.yaml",
            "model-additional_files_url": f"{LINKS}/model/weights.tar.gz",
            "model-additional_files_sha256": HASH,
            "demo_sha256": HASH.upper(),
        }
    )
    response = post_form(member_client, NEW, data)
    assert response.status_code == 302
    run = db.session.scalar(select(Run))
    model = run.inputs["slots"]["model"]
    assert model["container_id"] is None
    assert model["config_url"] == f"{LINKS}/model/container_config.yaml"
    assert model["config_sha256"] == HASH
    assert model["parameters_url"] == f"{LINKS}/model/parameters.yaml"
    assert model["additional_files_sha256"] == HASH
    assert run.demo_sha256 == HASH and run.prep_id is None


def test_links_to_private_addresses_are_refused_in_the_form(member_client):
    data = by_links(
        **{
            "model-config_url": "http://10.0.0.1/model.yaml",
            "evaluator-parameters_url": "http://169.254.169.254/latest/meta-data/",
            "demo_url": "http://192.168.1.1/demo.tar.gz",
        }
    )
    response = post_form(member_client, NEW, data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("model-config_url", "evaluator-parameters_url", "demo_url"):
        assert "this address is not allowed" in error_of(body, field).lower()
    assert run_count() == 0


def test_bad_links_and_hashes_are_explained_next_to_their_fields_and_kept(member_client):
    data = by_links(
        **{
            "data_preparator-config_url": "ftp://files.example.org/prep.yaml",
            "model-parameters_sha256": "not-a-hash",
            "evaluator-additional_files_url": "weights.tar.gz",
            "demo_url": "files.example.org/demo.tar.gz",
            "demo_sha256": "12345",
        }
    )
    response = post_form(member_client, NEW, data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "starts with http:// or https://" in error_of(body, "data_preparator-config_url")
    assert "64 characters" in error_of(body, "model-parameters_sha256")
    assert "starts with http:// or https://" in error_of(body, "evaluator-additional_files_url")
    assert "starts with http:// or https://" in error_of(body, "demo_url")
    assert "64 characters" in error_of(body, "demo_sha256")
    for typed in ("ftp://files.example.org/prep.yaml", "not-a-hash", "weights.tar.gz", "12345"):
        assert f'value="{typed}"' in body
    assert re.search(r'<input checked[^>]*name="model-source"[^>]*value="links"', body)
    assert run_count() == 0


def test_each_slot_needs_a_container_or_a_configuration_link(member_client, member):
    data = by_links(
        **{
            "data_preparator-source": "registered",
            "data_preparator-container": "",
            "model-config_url": "",
        }
    )
    body = post_form(member_client, NEW, data).get_data(as_text=True)
    assert "Choose a data preparator from the list" in error_of(body, "data_preparator-container")
    assert "Paste the link to the model's configuration file." in error_of(body, "model-config_url")
    assert "Paste the link to your demo dataset." not in body
    assert run_count() == 0


def test_the_option_not_chosen_is_ignored(member_client, member):
    prep, model, evaluator = make_trio(member)
    data = registered(prep, model, evaluator, **{"model-config_url": "leftover junk"})
    assert post_form(member_client, NEW, data).status_code == 302
    assert db.session.scalar(select(Run)).model_id == model.id


def test_with_redis_down_the_run_is_kept_then_queued_when_redis_is_back(member_client, app):
    redis = app.extensions["redis"]
    real_port = redis.connection_pool.connection_kwargs["port"]
    redis.connection_pool.connection_kwargs["port"] = 1  # nothing listens there
    redis.connection_pool.reset()  # connections made before keep their own port
    response = post_form(member_client, NEW, by_links(), follow_redirects=True)
    body = response.get_data(as_text=True)
    run = db.session.scalar(select(Run))
    assert run.status == RunStatus.QUEUED and not run.dispatched
    assert "the queue cannot be reached right now" in body
    assert "waiting for the queue to come back" in body

    # Redis comes back: the workers' housekeeping sends the run to the queue.
    redis.connection_pool.connection_kwargs["port"] = real_port
    redis.connection_pool.reset()  # drop the connections made for the dead port
    report = housekeeping(containers=False)
    assert report["dispatched"] == 1, report
    db.session.refresh(run)
    assert run.dispatched and run.status == RunStatus.QUEUED
    assert get_queue().get_job_ids() == [f"run-{run.id}"]


def test_form_without_csrf_token_gives_400(member_client):
    response = member_client.post(NEW, data=by_links())
    assert response.status_code == 400
    assert run_count() == 0


# Lists


def test_runs_list_shows_my_runs_newest_first_and_not_others(client, member):
    other = make_user("olga@example.org", "Olga Other")
    first, second = start_run(member), start_run(member)
    theirs = start_run(other)
    sign_in_as(client, member)
    body = client.get("/runs/").get_data(as_text=True)
    assert body.index(f'/runs/{second.id}"') < body.index(f'/runs/{first.id}"')
    assert f'/runs/{theirs.id}"' not in body
    assert "Requested by" not in body
    # ?all=1 means nothing to a member
    assert f'/runs/{theirs.id}"' not in client.get("/runs/?all=1").get_data(as_text=True)


def test_admin_sees_all_runs_with_their_requester(admin_client, member):
    run = start_run(member)
    assert f'/runs/{run.id}"' not in admin_client.get("/runs/").get_data(as_text=True)
    body = admin_client.get("/runs/?all=1").get_data(as_text=True)
    assert f'/runs/{run.id}"' in body
    assert "Requested by" in body and member.email in body


def test_runs_list_is_paginated(member_client, member, app):
    reconfigure(app, PAGE_SIZE=2)
    runs = [start_run(member) for _ in range(3)]
    first_page = member_client.get("/runs/").get_data(as_text=True)
    assert f'/runs/{runs[0].id}"' not in first_page and "Page 1 of 2" in first_page
    assert f'/runs/{runs[0].id}"' in member_client.get("/runs/?page=2").get_data(as_text=True)


# The run page


def test_run_page_is_404_for_another_member_and_visible_to_an_admin(client, member, admin):
    run = start_run(make_user("olga@example.org", "Olga Other"))
    sign_in_as(client, member)
    assert client.get(f"/runs/{run.id}").status_code == 404
    assert client.get(f"/runs/{run.id}/events").status_code == 404
    assert client.get(f"/runs/{run.id}/log.txt").status_code == 404
    post_form(client, "/account/signout", {}, page="/")
    sign_in_as(client, admin)
    assert client.get(f"/runs/{run.id}").status_code == 200


def test_unfinished_run_page_follows_live_and_refreshes_without_javascript(member_client, member):
    run = start_run(member)
    body = member_client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "js/run_live.js" in body and f'data-events-url="/runs/{run.id}/events"' in body
    assert '<noscript><meta http-equiv="refresh"' in body
    assert "Cancel the test" in body and "Run it again" not in body


def test_live_page_script_gets_its_words_from_the_page(member_client, member):
    run = start_run(member)
    body = member_client.get(f"/runs/{run.id}").get_data(as_text=True)
    words = json.loads(unescape(re.search(r"data-words='([^']*)'", body).group(1)))
    assert words["status"]["error"] == "Platform error"
    assert words["sentences"]["canceled"] == "The test was canceled."


def test_passed_run_page_shows_results_statistics_evidence_and_stored_log(member_client, member):
    run = start_run(member, make_trio(member))
    lines = [("prepare", f"line {i}") for i in range(600)]
    pass_run(
        run.id,
        lines,
        results={"auc": 0.91, "per_class": {"lung": "NaN", "heart": "Infinity"}},
        statistics={"images": 12, "labels": {"sick": 5}},
        prepared_data_uid="c0" * 32,
        hashes={"demo": "d1" * 32},
        digests={"model": "sha256:" + "e2" * 32},
    )
    body = member_client.get(f"/runs/{run.id}").get_data(as_text=True)
    assert "All six steps passed" in body
    assert '<code>per_class.lung</code></th><td class="value">NaN' in body
    assert '<code>per_class.heart</code></th><td class="value">Infinity' in body
    assert '<code>labels.sick</code></th><td class="value">5' in body
    assert "c0" * 32 in body and "d1" * 32 in body and "e2" * 32 in body
    assert "The last 500 of 600 lines" in body
    assert "\nline 599\n" in body and "\nline 99\n" not in body
    assert '<span class="log-step">prepare</span>' in body
    assert "data-events-url" not in body and "Cancel the test" not in body
    assert "Run it again" in body


def test_failed_run_page_shows_the_summary_and_the_failing_steps_last_lines(member_client, member):
    run = start_run(member)
    fail_run(run.id, "infer", summary="The model exited with code 3.", tail="loading\nboom")
    body = unescape(member_client.get(f"/runs/{run.id}").get_data(as_text=True))
    assert "The test failed at the infer step." in body
    assert "The model exited with code 3." in body
    assert "Last lines of the infer step's log" in body and "loading\nboom" in body
    steps = db.session.scalars(select(Run)).one().steps
    assert [s.status.value for s in steps][-1] == "skipped"


def test_display_helpers_flatten_nested_values_and_name_nan():
    rows = flatten({"a": {"b": float("nan"), "c": [1, 2]}, "d": float("-inf"), "e": {}})
    assert rows == [("a.b", "NaN"), ("a.c", "1, 2"), ("d", "-Infinity"), ("e", "{}")]
    assert format_duration(4.24) == "4.2 s" and format_duration(185) == "3 min 05 s"
    assert slot_summary({"container_id": 3, "name": "Chest prep"}) == "Chest prep"
    link = {"container_id": None, "config_url": "https://h.example.org/a/prep/config.yaml"}
    assert slot_summary(link) == "link to h.example.org …/prep"


def test_home_page_and_menu_lead_to_the_workflow_test(member_client):
    body = member_client.get("/").get_data(as_text=True)
    assert 'href="/runs/new"' in body and 'href="/runs/"' in body
