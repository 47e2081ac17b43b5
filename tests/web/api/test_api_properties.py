"""Property-based test of the whole API from its OpenAPI document, signed in with a token."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from app.services.api_tokens import create_token
from app.settings import reconfigure
from tests.support.runs import make_trio, pass_run, start_run

pytestmark = pytest.mark.slow

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
# A live event stream of a queued run lasts until the run ends: it is tested on its own.
SKIPPED = r"/events$"


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.exclude(path_regex=SKIPPED).get_all_operations()]


@pytest.mark.parametrize(
    ("who", "mode"),
    [
        ("member", GenerationMode.POSITIVE),
        ("member", GenerationMode.NEGATIVE),
        ("admin", GenerationMode.POSITIVE),
    ],
)
def test_the_api_matches_its_document_and_never_fails_on_the_server(app, member, admin, who, mode):
    # schemathesis' own pytest plugin does not run on this pytest: hypothesis drives it here.
    reconfigure(app, API_TOKEN_LIMIT="100000 per minute")
    run = start_run(member, make_trio(member))
    pass_run(run.id, [("prepare", "ready")], results={"auc": 0.5})
    caller = admin if who == "admin" else member
    scopes = ["write", "admin"] if who == "admin" else ["write"]
    _token, secret = create_token(caller, "schemathesis", scopes, 1)
    headers = {"Authorization": f"Bearer {secret}"}
    tested = []
    for operation in operations(app):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            derandomize=True,  # the same cases on every run: CI fails only for a real change
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, operation.label
            continue  # nothing it takes can be wrong (no parameters, no body)
        tested.append(operation.label)
    assert len(tested) >= (8 if mode == GenerationMode.POSITIVE else 5), tested
