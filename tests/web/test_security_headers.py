"""Security headers on every answer, pages kept out of caches, and the request body cap."""

import re
from pathlib import Path

import pytest

from tests.support.runs import pass_run, start_run
from tests.support.web import post_form

PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def assert_protected(response) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    for name, value in PAGE_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_a_signed_out_page_an_error_and_a_static_file_carry_the_headers(client, app):
    for url, status in [
        ("/account/signin", 200),
        ("/no-such-page", 404),
        ("/static/css/benchgate.css", 200),
        ("/static/js/run_live.js", 200),
    ]:
        with client.get(url) as response:
            assert response.status_code == status, url
            assert_protected(response)
            assert response.headers.get("Cache-Control") != "no-store", url


def test_pages_of_a_signed_in_member_are_not_stored_by_any_cache(member_client, member):
    for url in ["/", "/runs/", "/benchmarks/", "/containers/", "/account/", "/runs/999999"]:
        response = member_client.get(url)
        assert response.status_code in (200, 404), url
        assert_protected(response)
        assert response.headers["Cache-Control"] == "no-store", url
    # Static files stay cacheable, signed in or not: they are the same for everyone.
    with member_client.get("/static/css/benchgate.css") as static:
        assert static.headers.get("Cache-Control") != "no-store"


def test_live_events_and_the_log_download_carry_the_headers(member_client, member):
    run_id = start_run(member).id
    pass_run(run_id, [("prepare", "hello")])
    events = member_client.get(f"/runs/{run_id}/events", buffered=False)
    try:
        assert events.mimetype == "text/event-stream"
        assert_protected(events)
        assert events.headers["Cache-Control"] == "no-store"
    finally:
        events.close()
    download = member_client.get(f"/runs/{run_id}/log.txt")
    assert download.status_code == 200 and "hello" in download.get_data(as_text=True)
    assert_protected(download)
    assert download.headers["Cache-Control"] == "no-store"


def test_an_internal_error_page_carries_the_headers(app, client):
    @app.route("/boom-for-test")
    def boom():
        raise RuntimeError("broken on purpose")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom-for-test")
    assert response.status_code == 500
    assert_protected(response)


def test_no_template_has_inline_script_handlers_or_style():
    root = Path(__file__).resolve().parents[2] / "templates"
    offending = []
    for path in root.rglob("*.html"):
        # Markup only: a macro's argument such as style='danger' is not an attribute.
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", path.read_text(), flags=re.S)
        for pattern in (r"<script(?![^>]*\bsrc=)", r"\son[a-z]+\s*=", r"javascript:", r"\sstyle="):
            if re.search(pattern, text, re.IGNORECASE):
                offending.append(f"{path.relative_to(root)}: {pattern}")
    assert offending == []


@pytest.fixture
def config(config):
    config["MAX_CONTENT_LENGTH"] = 64 * 1024
    return config


def test_a_body_over_the_cap_is_answered_413_with_a_plain_page(member_client, member):
    response = post_form(
        member_client,
        "/benchmarks/new",
        {"name": "Big", "description": "x" * (65 * 1024)},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "This request was too large" in body
    assert "Traceback" not in body
    assert_protected(response)


def test_the_default_cap_leaves_room_for_the_longest_form():
    from app.config import Config
    from app.joins.forms import JoinPolicyForm

    longest = JoinPolicyForm.allowlist.kwargs["validators"][0].max
    # Every character percent-encoded as three bytes of UTF-8: 9 bytes each.
    assert longest * 9 < Config.MAX_CONTENT_LENGTH
