"""The journey the portal exists for, in a real browser against a real server, worker and Docker.

A member registers three containers from links, runs a workflow test and watches its log,
submits a benchmark; an administrator requests changes; the member reads why, edits and
resubmits; the administrator approves; the member finds it in the catalogue. Then a model owner
asks to join it with a model of their own, the model is tested, and the benchmark's owner
compares its results with the reference model's and lets it join.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.support.browser import serious_violations, shoot
from tests.support.journeys import PASSWORD, confirm_email, sign_in, sign_out, sign_up
from tests.support.processes import PROJECT_ROOT, flask_command, worker_env
from tests.support.trio import TRIO_DIR, serve_trio

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

CHANGES = "Please describe how the accuracy is computed in the description."


def register_container(page, portal, name: str, config: str, parameters: str | None = None):
    page.goto(portal.url + "/containers/register")
    page.locator("#name").fill(name)
    page.locator("#config_url").fill(config)
    if parameters:
        page.locator("#parameters_url").fill(parameters)
    page.get_by_role("button", name="Check and register").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def accessible(page, name: str) -> None:
    shoot(page, name)
    assert serious_violations(page) == [], name


def finish_run(page, timeout_ms: int = 90_000) -> None:
    """Wait on the live run page until the run says it passed."""
    expect(page.locator("#run-status-badge")).to_have_text(re.compile("Passed"), timeout=timeout_ms)


def test_member_publishes_a_benchmark_that_an_administrator_reviews_and_a_model_joins(
    page, portal, assets, test_images
):
    links = serve_trio(assets)

    # A member signs up and registers the three containers from links.
    sign_up(page, portal, "Ana Silva", "ana@hospital.org")
    accessible(page, "10-home")
    confirm_email(page, portal, "ana@hospital.org")
    page.goto(portal.url + "/containers/register")
    page.get_by_role("button", name="Check and register").click()
    accessible(page, "11-container-form-errors")
    register_container(page, portal, "Toy preparator", links["prep"], links["prep_params"])
    shoot(page, "12-container-detail")
    register_container(page, portal, "Toy model", links["model"])
    register_container(page, portal, "Toy evaluator", links["evaluator"])

    # A workflow test on the registered containers; log lines appear while it runs.
    page.goto(portal.url + "/runs/new")
    for slot, name in (
        ("data_preparator", "Toy preparator"),
        ("model", "Toy model"),
        ("evaluator", "Toy evaluator"),
    ):
        page.locator(f"input[name='{slot}-source'][value='registered']").check()
        page.locator(f"select[name='{slot}-container']").select_option(
            label=f"{name} (in development)"
        )
    page.locator("#demo_url").fill(links["demo"])
    page.get_by_role("button", name="Start the test").click()
    live = page.locator("#live-log")
    expect(live).to_contain_text("Downloading the demo dataset", timeout=60_000)
    shoot(page, "13-run-live")
    status_while_running = page.locator("#run-status-badge").inner_text()
    finish_run(page)
    assert status_while_running != "Passed"  # the line arrived before the end
    expect(page.locator("#stored-log")).to_contain_text("evaluate: accuracy 0.7500 over 4 cases")
    expect(page.get_by_role("cell", name="0.75")).to_be_visible()
    accessible(page, "14-run-passed")

    # The member submits a benchmark and lands on its test run, then sees it pending review.
    page.goto(portal.url + "/benchmarks/new")
    accessible(page, "15-benchmark-form")
    page.locator("#name").fill("Toy pneumonia benchmark")
    page.locator("#description").fill("Tells positive from negative toy cases.")
    page.locator("#demo_url").fill(links["demo"])
    page.locator("#prep_id").select_option(label="Toy preparator (in development)")
    page.locator("#model_id").select_option(label="Toy model (in development)")
    page.locator("#evaluator_id").select_option(label="Toy evaluator (in development)")
    page.get_by_role("button", name="Submit and test").click()
    finish_run(page)
    page.goto(portal.url + "/benchmarks/mine")
    row = page.get_by_role("row", name=re.compile("Toy pneumonia benchmark"))
    expect(row).to_contain_text("Awaiting review")
    shoot(page, "16-mine-pending")
    sign_out(page)

    # An administrator opens the queue and requests changes with a reason.
    made = subprocess.run(
        flask_command("users", "create-admin", "boss@hospital.org", "--password", PASSWORD),
        cwd=PROJECT_ROOT,
        env=worker_env(portal.config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    sign_in(page, portal, "boss@hospital.org")
    page.goto(portal.url + "/admin/review/")
    page.get_by_role("link", name="Toy pneumonia benchmark", exact=True).click()
    expect(page.get_by_text("0.75").first).to_be_visible()
    accessible(page, "17-review-page")
    page.get_by_role("radio", name=re.compile("Request changes")).check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text(re.compile("reason", re.I)).first).to_be_visible()
    page.get_by_role("radio", name=re.compile("Request changes")).check()
    page.get_by_label("Reason").fill(CHANGES)
    page.get_by_role("button", name="Record the decision").click()
    shoot(page, "18-changes-requested")
    sign_out(page)

    # The member reads the reason in a notification, edits and resubmits.
    sign_in(page, portal, "ana@hospital.org")
    page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(page.locator(".notification.unread").first).to_contain_text(CHANGES)
    shoot(page, "19-notifications")
    page.get_by_role("link", name=re.compile("Toy pneumonia benchmark")).first.click()
    expect(page.get_by_text(CHANGES).first).to_be_visible()
    page.get_by_role("link", name=re.compile("^Edit")).first.click()
    page.locator("#description").fill(
        "Tells positive from negative toy cases; accuracy = correct / cases."
    )
    page.get_by_role("button", name="Save and test again").click()
    finish_run(page)
    sign_out(page)

    # The administrator approves.
    sign_in(page, portal, "boss@hospital.org")
    page.goto(portal.url + "/admin/review/")
    page.get_by_role("link", name="Toy pneumonia benchmark", exact=True).click()
    page.get_by_role("radio", name=re.compile("Approve")).check()
    page.get_by_role("button", name="Record the decision").click()
    shoot(page, "20-approved")
    sign_out(page)

    # The member finds it approved in the catalogue.
    sign_in(page, portal, "ana@hospital.org")
    accessible(page, "21-home-after")
    page.goto(portal.url + "/benchmarks/")
    expect(page.get_by_role("link", name="Toy pneumonia benchmark")).to_be_visible()
    page.get_by_role("link", name="Toy pneumonia benchmark", exact=True).click()
    expect(page.get_by_text(re.compile("Approved")).first).to_be_visible()
    shoot(page, "22-benchmark-approved")

    benchmark_url = page.url

    # A model owner registers a model and asks to join the approved benchmark with it.
    sign_out(page)
    sign_up(page, portal, "Bo Chen", "bo@clinic.org")
    confirm_email(page, portal, "bo@clinic.org")
    # The same image with another threshold: it gets all four demo cases right.
    reference_config = (TRIO_DIR / "model.yaml").read_text()
    bo_config = reference_config.replace('THRESHOLD: "50"', 'THRESHOLD: "60"')
    assert bo_config != reference_config
    bo_model = assets.add_bytes("/bo-model/container_config.yaml", bo_config.encode())
    register_container(page, portal, "Bo's model", bo_model)
    page.goto(benchmark_url)
    page.locator("#model_id").select_option(label="Bo's model (in development)")
    accessible(page, "23-benchmark-ask-to-join")
    page.get_by_role("button", name="Test my model and ask to join").click()
    finish_run(page)
    page.goto(portal.url + "/benchmarks/join-requests")
    row = page.get_by_role("row", name=re.compile("Toy pneumonia benchmark"))
    expect(row).to_contain_text("Awaiting the owner's decision")
    shoot(page, "24-join-request-pending")
    sign_out(page)

    # The benchmark's owner is told, compares the results and lets the model join.
    sign_in(page, portal, "ana@hospital.org")
    page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(page.locator(".notification.unread").first).to_contain_text("asks to join")
    page.get_by_role("link", name=re.compile("Toy pneumonia benchmark")).first.click()
    request = page.locator("article.join-request", has_text="Bo's model")
    comparison = request.get_by_role("table")
    expect(comparison).to_contain_text("Reference model")
    expect(comparison.get_by_role("row", name=re.compile("accuracy"))).to_contain_text("1.0")
    accessible(page, "25-join-request-to-decide")
    # The request's own page, and the join policy's, where a refusal keeps what was typed.
    request.get_by_role("link", name="The request's page").click()
    expect(page.get_by_role("heading", name=re.compile("Bo's model"))).to_be_visible()
    accessible(page, "25a-join-request-page")
    page.goto(benchmark_url)
    page.get_by_role("radio", name=re.compile("Only models of the members")).check()
    page.get_by_label(re.compile("Emails of the members")).fill("bo@clinic.org\nnot an email")
    page.get_by_role("button", name="Save the join policy").click()
    expect(page.get_by_text("These are not email addresses")).to_be_visible()
    expect(page.get_by_label(re.compile("Emails of the members"))).to_have_value(
        "bo@clinic.org\nnot an email"
    )
    accessible(page, "25b-join-policy-refused")
    page.goto(benchmark_url)
    request = page.locator("article.join-request", has_text="Bo's model")
    request.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("is approved: the model has joined")).to_be_visible()
    sign_out(page)

    # The model owner reads that the model has joined.
    sign_in(page, portal, "bo@clinic.org")
    page.get_by_role("link", name=re.compile("Notifications")).click()
    expect(page.locator(".notification.unread").first).to_contain_text("has joined")
    page.goto(portal.url + "/benchmarks/join-requests")
    row = page.get_by_role("row", name=re.compile("Toy pneumonia benchmark"))
    expect(row).to_contain_text("Joined")
    shoot(page, "26-join-request-joined")
