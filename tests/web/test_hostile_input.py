"""Nothing a visitor can type gives a server error: every URL rule, every form, every field."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from app.models import BenchmarkStatus, Notification
from app.services.join_policy import set_join_policy
from app.services.join_requests import ask_to_join
from app.services.users import find_user_by_email
from tests.support.accounts import make_user, sign_in_as
from tests.support.benchmarks import make_trio, record_benchmark
from tests.support.containers import make_container
from tests.support.runs import fail_run, start_run

# What a visitor may type into a query string or a form field.
HOSTILE = [
    "99999999999999999999",
    "-1",
    "0",
    "1e309",
    "abc",
    "\x00",
    "a\x00b",
    "\r\nSet-Cookie: x=1",
    "\x1b[31m\x07\x08\x7f",
    "\u202eevil\u200b\u00ad",
    "//evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "%00%0d%0a",
    "x" * 5000,
    "1 OR 1=1; --",
]
# Sent as they are: bytes that are not UTF-8, and encoded NUL, CR and LF.
RAW_QUERIES = ["page=%ED%A0%80&q=%ff%fe", "q=%00&page=%0d%0a", "page=1&page=2&q&&=&%"]
# Fields of forms a reader is not shown (an administrator's, to a member).
GENERIC_FIELDS = ["value", "reason", "decision", "policy", "allowlist", "model_id"]
# Every query argument a view reads (request.args and the GET filter forms).
ARGUMENTS = ["page", "q", "all", "kind", "last_id", "next", "role", "mine"]
FORM_KEEP = {"csrf_token"}  # a wrong token is a 400 by design; every other field is fair game


class FormReader(HTMLParser):
    """Collect each POST form of a page: its action and its fields with their values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form" and attrs.get("method", "").lower() == "post":
            self._fields = {}
            self.forms.append((attrs.get("action", ""), self._fields))
        elif self._fields is None or "name" not in attrs:
            return
        elif tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                self._fields.setdefault(attrs["name"], "")
            elif kind not in ("submit", "button"):
                self._fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self._fields[attrs["name"]] = ""
        elif tag == "select":
            self._fields[attrs["name"]] = ""

    def handle_data(self, data):
        if self._fields is not None and self._textarea:
            self._fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "textarea":
            self._textarea = None


@pytest.fixture
def config(config):
    config.update(
        SSE_BLOCK_MS=50,
        PROPAGATE_EXCEPTIONS=False,
        SIGNIN_LIMIT="10000 per minute",
        SIGNIN_ADDRESS_LIMIT="10000 per minute",
        SIGNUP_LIMIT="10000 per minute",
    )
    return config


@pytest.fixture
def world(app, member, admin):
    """One record of every kind, so each rule with an id reaches its view's code."""
    owner = make_user("olga@example.org", "Olga Owner")
    trio = make_trio(member)
    benchmark = record_benchmark(member, trio, "Chest 2025", BenchmarkStatus.APPROVED)
    set_join_policy(benchmark, "list", "ana@example.org", member)
    other = record_benchmark(owner, make_trio(owner, "Lung"), "Lung 2025", BenchmarkStatus.APPROVED)
    model = make_container(member, "Mia net")
    request = ask_to_join(other, model, member)
    run = start_run(member, trio)
    fail_run(start_run(member).id, "prepare", summary="Exit code 2.")
    notification = Notification(user_id=member.id, message="Hello", url="/runs/")
    db.session.add(notification)
    db.session.commit()
    return {
        "run_id": run.id,
        "benchmark_id": benchmark.id,
        "container_id": trio[0].id,
        "request_id": request.id,
        "user_id": owner.id,
        "notification_id": notification.id,
        "filename": "css/benchgate.css",
        "token": "eyJ1IjoxfQ.abc.def%00\r\n" + "x" * 300,  # a forged mailed link
        "token_id": 2**40,
        "session_id": 2**63,
        "which": "results",
    }


def urls_of(app, world, method: str) -> list[str]:
    """Each rule that answers `method`, with real ids filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if method in rule.methods and rule.endpoint != "auth.signout":
            urls.append(rule.build({name: world[name] for name in rule.arguments})[1])
    return urls


def fetch(client, url: str, **kwargs):
    """GET a page; a live log is read to its first event only, then let go."""
    response = client.get(url, buffered=False, **kwargs)
    try:
        if response.mimetype == "text/event-stream":
            next(iter(response.response), None)
            return response.status_code, ""
        return response.status_code, response.get_data(as_text=True)
    finally:
        response.close()


def walk(client, urls: list[str], posts: list[str]) -> list[str]:
    """Send hostile values in every query and every field; return what answered 5xx."""
    failures = []
    pages: dict[str, str] = {}
    for url in urls:
        status, pages[url] = fetch(client, url)
        queries = [{name: value for name in ARGUMENTS} for value in HOSTILE] + RAW_QUERIES
        for query in [{}, *queries]:
            status, _ = fetch(client, url, query_string=query)
            if status >= 500:
                failures.append(f"GET {url} {str(query)[:60]}: {status}")
    forms = forms_on(pages)
    token = next(fields["csrf_token"] for found in forms.values() for _, fields in found)
    for path in posts:
        fields = forms[path][0][1] if path in forms else dict.fromkeys(GENERIC_FIELDS, "")
        fields = {"csrf_token": token, **fields}
        names = [name for name in fields if name not in FORM_KEEP]
        # Every field at once with each value; then each field alone, the others as shown.
        sent = [{**fields, **dict.fromkeys(names, value)} for value in HOSTILE]
        sent += [{**fields, name: value} for name in names for value in HOSTILE[5:8]]
        for data in sent:
            response = client.post(path, data=data)
            if response.status_code >= 500:
                failures.append(f"POST {path} {str(data)[:80]}: {response.status_code}")
    return failures


def forms_on(pages: dict[str, str]) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """The POST forms of the pages, by the path they post to."""
    forms: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for url, body in pages.items():
        reader = FormReader()
        reader.feed(body)
        for action, fields in reader.forms:
            path = urlsplit(action).path or urlsplit(url).path
            forms.setdefault(path, []).append((url, fields))
    return forms


@pytest.mark.parametrize("who", ["member", "admin"])
def test_no_query_or_form_value_gives_a_server_error_when_signed_in(app, client, world, who):
    sign_in_as(client, find_user_by_email(f"{who}@example.org"))
    failures = walk(client, urls_of(app, world, "GET"), urls_of(app, world, "POST"))
    assert not failures, "\n".join(failures)


def test_no_query_or_form_value_gives_a_server_error_when_signed_out(app, client, world):
    posts = ["/account/signin", "/account/signup"]
    failures = walk(client, ["/account/signin", "/account/signup", "/", "/healthz"], posts)
    failures += walk(client, urls_of(app, world, "GET"), [])  # sent to sign in, not broken
    assert not failures, "\n".join(failures)


def test_a_nul_character_anywhere_is_a_plain_400(member_client, member):
    for response in [
        member_client.get("/benchmarks/", query_string={"q": "chest\x00"}),
        member_client.get("/containers/?q=%00"),
    ]:
        assert response.status_code == 400
        assert "This request was refused" in response.get_data(as_text=True)


def test_a_huge_page_number_reads_as_the_last_page(member_client, member):
    for page in ("99999999999999999999", "-3", "x"):
        response = member_client.get("/notifications/", query_string={"page": page})
        assert response.status_code == 200
