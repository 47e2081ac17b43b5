"""Putting a service's refusal into the form that asked: by field, the rest for the whole form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_wtf import FlaskForm

from app.services.errors import Refusal


def show_errors(form: FlaskForm, refusal: Refusal | Mapping[str, Sequence[str]]) -> None:
    """Put each message next to the field it names; those of no field go on top of the form.

    Takes a Refusal, or the problems a service found (keyed alike: by form field, "" for
    the whole form) when it only checks.
    """
    errors = refusal.errors if isinstance(refusal, Refusal) else refusal
    for key, messages in errors.items():
        field = form._fields.get(key) if key else None
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
