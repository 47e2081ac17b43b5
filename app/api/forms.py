"""The portal's own forms, filled from JSON: the API checks input exactly as the pages do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.datastructures import MultiDict

from app.api.common import MAX_ID
from app.api.errors import ApiError, invalid


def field_errors(errors: dict, prefix: str = "") -> dict[str, list[str]]:
    """A form's nested errors as dotted field paths, e.g. model.config_url ("" for the form)."""
    flat: dict[str, list[str]] = {}
    for name, value in errors.items():
        path = f"{prefix}{name}" if name else prefix.rstrip(".")
        if isinstance(value, dict):
            flat.update(field_errors(value, f"{path}."))
        elif value:
            flat.setdefault(path, []).extend(value)
    return flat


def id_problem(value: Any) -> str | None:
    """Say why a value given for a record's id names nothing, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None  # not a number at all: the form says so in its own words
    return None if 0 <= number <= MAX_ID else "No record has this id."


def form_data(body: dict[str, Any], names: Iterable[str], ids: Iterable[str] = ()) -> MultiDict:
    """The form fields of a JSON body: strings as they are, numbers as text, true as ticked.

    Keys the form does not have are refused, so that a typo is not silently ignored; so are
    ids (the fields named in ids) too large for any record.
    """
    names = list(names)
    unknown = sorted(set(body) - set(names))
    if unknown:
        raise invalid({key: ["This field is not known."] for key in unknown})
    data = MultiDict()
    for name in names:
        value = body.get(name)
        if value is None or value is False:
            continue
        if value is True:
            data[name] = "y"
        elif isinstance(value, str | int) and not isinstance(value, bool):
            data[name] = str(value)
        else:
            raise invalid({name: ["Give a string, a number or true/false."]})
    problems = {name: [id_problem(body[name])] for name in ids if id_problem(body.get(name))}
    if problems:
        raise invalid(problems)
    return data


def refuse(form) -> ApiError:
    """The 422 of a form that did not validate, with its fields' messages."""
    return invalid(field_errors(form.errors))


def checked(form):
    """The form, once valid; otherwise the 422 that says what to change."""
    if not form.validate():
        raise refuse(form)
    return form
