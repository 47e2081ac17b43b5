"""Names are written one way (NFKC) and refuse characters that show nothing or turn text."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Benchmark, BenchmarkStatus, Container, User
from app.names import name_key, name_problem, normalize_name
from tests.support.accounts import PASSWORD
from tests.support.benchmarks import form_data, make_trio, record_benchmark, serve_demo, submit
from tests.support.containers import make_container, prep_links, register
from tests.support.records import count
from tests.support.web import page_text, post_form

HIDDEN = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "left-to-right embedding": "\u202a",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "pop directional isolate": "\u2069",
    "soft hyphen": "\u00ad",
    "byte order mark": "\ufeff",
    "word joiner": "\u2060",
    "hangul filler": "\u3164",
    "variation selector": "\ufe0f",
    "escape": "\x1b",
    "delete": "\x7f",
    "private use": "\ue000",
}


@pytest.mark.parametrize("char", HIDDEN.values(), ids=HIDDEN.keys())
def test_every_invisible_or_turning_character_is_refused(char):
    problem = name_problem(f"Chest{char} X-ray")
    assert problem and f"U+{ord(char):04X}" in problem


def test_look_alike_forms_and_space_runs_are_written_one_way():
    assert normalize_name("  Ｃｈｅｓｔ\u00a0 X-ray\tﬁt  ") == "Chest X-ray fit"
    assert name_key("ＣＨＥＳＴ  x-RAY") == name_key("chest x-ray") == "chest x-ray"
    assert name_problem("Pneumonía détection — 2025 (北京)") is None


def test_a_display_name_with_a_zero_width_space_is_refused_at_sign_up(client, app):
    response = post_form(
        client,
        "/account/signup",
        {
            "display_name": "Ana\u200bSilva",
            "email": "ana@hospital.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert "Remove the invisible character U+200B" in page_text(response)
    assert db.session.scalar(select(User)) is None


def test_a_display_name_is_stored_normalised(client, app):
    post_form(
        client,
        "/account/signup",
        {
            "display_name": " Ａｎａ   Silva ",
            "email": "ana@hospital.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert db.session.scalar(select(User.display_name)) == "Ana Silva"


def test_a_container_name_differing_by_width_or_spaces_is_taken(member_client, member, assets):
    make_container(member, "Chest X-ray Preparation", name_key=name_key("Chest X-ray Preparation"))
    response = register(member_client, prep_links(assets, name="Ｃｈｅｓｔ  X-ray Preparation"))
    assert "The name “Chest X-ray Preparation” is taken" in page_text(response)
    assert db.session.scalar(select(db.func.count(Container.id))) == 1


def test_a_container_name_with_a_bidi_override_is_refused(member_client, member, assets):
    response = register(member_client, prep_links(assets, name="Chest \u202eX-ray"))
    assert "Remove the invisible character U+202E" in page_text(response)
    assert db.session.scalar(select(db.func.count(Container.id))) == 0


def test_a_registered_container_name_is_stored_normalised(member_client, member, assets):
    register(member_client, prep_links(assets, name="Ｃｈｅｓｔ  prep"))
    container = db.session.scalar(select(Container))
    assert (container.name, container.name_key) == ("Chest prep", "chest prep")


def test_a_benchmark_name_differing_by_a_look_alike_form_is_taken(member_client, member, assets):
    trio = make_trio(member)
    record_benchmark(member, trio, "Chest fit 2025", BenchmarkStatus.REJECTED)
    response = submit(member_client, form_data(trio, serve_demo(assets), name="Ｃｈｅｓｔ ﬁt 2025"))
    assert "is taken" in page_text(response)
    assert count(Benchmark) == 1


def test_a_benchmark_name_with_a_zero_width_joiner_is_refused(member_client, member, assets):
    trio = make_trio(member)
    response = submit(member_client, form_data(trio, serve_demo(assets), name="Chest\u200d 2025"))
    assert "Remove the invisible character U+200D" in page_text(response)
    assert count(Benchmark) == 0


def test_a_submitted_benchmark_name_is_stored_normalised(member_client, member, assets):
    trio = make_trio(member)
    submit(member_client, form_data(trio, serve_demo(assets), name=" Ｃｈｅｓｔ   2025 "))
    benchmark = db.session.scalar(select(Benchmark))
    assert (benchmark.name, benchmark.name_key) == ("Chest 2025", "chest 2025")


def test_the_catalogue_search_finds_a_name_typed_in_full_width(member_client, member):
    trio = make_trio(member)
    record_benchmark(member, trio, "Chest 2025", BenchmarkStatus.APPROVED)
    body = page_text(member_client.get("/benchmarks/", query_string={"q": "ＣＨＥＳＴ"}))
    assert "Chest 2025" in body


def test_the_form_names_the_character_as_typed_not_as_normalised(member_client, member, assets):
    response = register(member_client, prep_links(assets, name="Chest\u3164prep"))
    assert "U+3164" in page_text(response)
