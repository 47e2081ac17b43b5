"""The OpenAPI document: served to anyone, in step with the routes, readable offline as a page."""

import re

from app.api.spec import openapi_document


def api_routes(app) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route under /api/v1/."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1") :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method.lower(), path))
    return found


def test_the_document_describes_exactly_the_routes_of_the_api(app):
    described = {
        (method, path) for path, item in openapi_document()["paths"].items() for method in item
    }
    assert described == api_routes(app)


def test_every_operation_that_needs_a_token_says_which_scope(app):
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            if operation.get("security") == []:
                continue
            assert operation["x-scope"] in ("read", "write", "admin"), (method, path)
            assert "401" in operation["responses"], (method, path)
            expected = "read" if method == "get" else "write"
            assert operation["x-scope"] in (expected, "admin"), (method, path)


def test_the_document_is_served_without_signing_in(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.json["openapi"].startswith("3.1")
    assert "/runs" in answer.json["paths"]


def test_the_readable_page_lists_every_operation_and_loads_nothing_from_elsewhere(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    for path in openapi_document()["paths"]:
        assert f"<code>{path}</code>" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
