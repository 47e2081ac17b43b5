"""One refusal for every service: a message, field errors, or both, keyed alike."""

from app.services.errors import FORM, Refusal


def test_a_message_is_a_form_error_and_field_errors_keep_their_fields():
    refusal = Refusal("Not now.", field_errors={"name": ["Taken."], "url": []})
    assert refusal.errors == {"name": ["Taken."], FORM: ["Not now."]}
    assert str(refusal) == refusal.message == "Not now."


def test_field_errors_alone_make_the_message():
    refusal = Refusal(field_errors={"name": ["Taken."], "url": ["Not a link."]})
    assert refusal.message == "Taken. Not a link."
    assert FORM not in refusal.errors
