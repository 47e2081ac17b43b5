"""Refusals: what a service raises when it will not do what was asked, in the user's words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

FORM = ""  # the key of messages about the whole form rather than one field


class Refusal(Exception):
    """A request that cannot be granted; every message is for the one who asked.

    `errors` maps form fields to their messages, FORM ("") to those about the whole request:
    a form shows them next to its fields (app.form_errors), the API as field errors.
    """

    def __init__(
        self, message: str = "", field_errors: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        errors = {key: list(messages) for key, messages in (field_errors or {}).items() if messages}
        if message:
            errors[FORM] = [message, *errors.get(FORM, [])]
        self.errors: dict[str, list[str]] = errors
        self.message = message or " ".join(m for messages in errors.values() for m in messages)
        super().__init__(self.message)
