"""The workflow-test form: three containers (registered, or given by links) and a demo dataset."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.containers.forms import container_choices
from app.database import record_id
from app.extensions import db
from app.models import Container, Role, User
from app.runs.links import SHA256_RE, is_http_url
from app.services.containers import usable_containers
from app.services.fetching import link_address_problem
from app.settings import settings
from workers.roles import SLOTS

URL_MESSAGE = (
    "Enter a link that starts with http:// or https://, "
    "e.g. https://example.org/chest-prep/container_config.yaml."
)
HASH_MESSAGE = (
    "A SHA-256 is 64 characters, each 0-9 or a-f. Copy it again, or leave this empty "
    "if you do not know it."
)


def strip(value: Any) -> Any:
    """Drop the spaces a copy and paste tends to bring along."""
    return value.strip() if isinstance(value, str) else value


def demo_link(form: Any, field: Any) -> None:
    """Refuse a demo dataset link that is not http:// or https://, or not allowed."""
    if field.data and not is_http_url(field.data):
        raise ValidationError(
            "Enter a link that starts with http:// or https://, "
            "e.g. https://example.org/chest/demo_data.tar.gz."
        )
    problem = field.data and link_address_problem(field.data, settings())
    if problem:
        raise ValidationError(problem)


def sha256(form: Any, field: Any) -> None:
    """Refuse anything but 64 hexadecimal characters."""
    if field.data and not SHA256_RE.match(field.data):
        raise ValidationError(HASH_MESSAGE)


class NeededWhenChosen:
    """Mark a field required on the page; SlotForm.validate checks it when its option is chosen."""

    field_flags = {"required": True}

    def __call__(self, form: Any, field: Any) -> None:
        return None


class SlotForm(Form):
    """One container of the test: a registered one, or its links."""

    source = RadioField(
        "How do you give this container?",
        choices=[
            SelectChoice("registered", "Use a registered container"),
            SelectChoice("links", "Paste links"),
        ],
        default="registered",
        validators=[InputRequired("Choose how you give this container.")],
    )
    container = SelectField(
        "Registered container", validate_choice=False, default="", validators=[NeededWhenChosen()]
    )
    config_url = StringField(
        "Configuration link",
        filters=[strip],
        validators=[NeededWhenChosen(), Length(max=2048)],
        description="Link to the container's container_config.yaml, "
        "e.g. https://example.org/chest-prep/container_config.yaml.",
    )
    config_sha256 = StringField(
        "SHA-256 of the configuration file",
        filters=[strip],
        validators=[Optional(), sha256],
        description="Only if you know it: Benchgate then refuses a file that differs.",
    )
    parameters_url = StringField(
        "Parameters link",
        filters=[strip],
        validators=[Length(max=2048)],
        description="Link to the container's parameters.yaml, if it takes one.",
    )
    parameters_sha256 = StringField(
        "SHA-256 of the parameters file", filters=[strip], validators=[Optional(), sha256]
    )
    additional_files_url = StringField(
        "Additional-files link",
        filters=[strip],
        validators=[Length(max=2048)],
        description="Link to a .tar.gz archive of weights or other files the container needs.",
    )
    additional_files_sha256 = StringField(
        "SHA-256 of the additional-files archive", filters=[strip], validators=[Optional(), sha256]
    )

    # Set by WorkflowTestForm: which slot this is, who asks, which containers fit it.
    slot = ""
    user: User | None = None
    choices_by_id: dict[str, Container] = {}

    @property
    def uses_links(self) -> bool:
        return self.source.data == "links"

    def validate(self, extra_validators=None) -> bool:
        """Check only the part the radio button chose; the other part is ignored."""
        if not self.source.validate(self):
            return False
        if self.uses_links:
            fields = [f for name, f in self._fields.items() if name not in ("source", "container")]
            ok = all([f.validate(self) for f in fields])  # every field, to show every error
            if not self.config_url.data:
                self.config_url.errors.append(
                    f"Paste the link to the {Role(self.slot).noun}'s configuration file."
                )
                ok = False
            for field in (self.config_url, self.parameters_url, self.additional_files_url):
                if not field.data:
                    continue
                problem = (
                    URL_MESSAGE
                    if not is_http_url(field.data)
                    else link_address_problem(field.data, settings())
                )
                if problem:
                    field.errors.append(problem)
                    ok = False
            return ok
        return self._validate_container()

    def _validate_container(self) -> bool:
        chosen = self.container.data or ""
        self.container.errors = []
        if not chosen:
            self.container.errors.append(
                f"Choose {Role(self.slot).a_noun} from the list, or paste its links instead."
            )
            return False
        if chosen in self.choices_by_id:
            return True
        other_id = record_id(chosen)
        other = db.session.get(Container, other_id) if other_id is not None else None
        usable = (
            other is not None
            and other.is_valid
            and (other.owner_id == self.user.id or other.is_operational)
        )
        if usable:
            self.container.errors.append(
                f"{other.name} is {other.role.a_noun}, not {Role(self.slot).a_noun}. "
                f"Choose {Role(self.slot).a_noun}."
            )
        else:
            self.container.errors.append("Choose one of the containers in the list.")
        return False

    def run_input(self) -> dict[str, Any]:
        """What services.runs.create_run expects for this slot."""
        from app.services.runs import slot_from_container, slot_from_links

        if not self.uses_links:
            return slot_from_container(self.choices_by_id[self.container.data])
        return slot_from_links(
            self.config_url.data,
            config_sha256=self.config_sha256.data or None,
            parameters_url=self.parameters_url.data or None,
            parameters_sha256=self.parameters_sha256.data or None,
            additional_files_url=self.additional_files_url.data or None,
            additional_files_sha256=self.additional_files_sha256.data or None,
        )


class WorkflowTestForm(FlaskForm):
    """Everything a compatibility test needs, checked before anything is queued."""

    data_preparator = FormField(SlotForm, label=Role.DATA_PREPARATOR.label)
    model = FormField(SlotForm, label=Role.MODEL.label)
    evaluator = FormField(SlotForm, label=Role.EVALUATOR.label)
    demo_url = StringField(
        "Demo dataset link",
        filters=[strip],
        validators=[
            InputRequired("Paste the link to your demo dataset."),
            Length(max=2048),
            demo_link,
        ],
        description="e.g. https://example.org/chest/demo_data.tar.gz",
    )
    demo_sha256 = StringField(
        "SHA-256 of the demo archive",
        filters=[strip],
        validators=[Optional(), sha256],
        description="Only if you know it: Benchgate then refuses an archive that differs.",
    )
    submit = SubmitField("Start the test")

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for slot in SLOTS:
            sub = getattr(self, slot).form
            sub.slot = slot
            sub.user = user
            sub.choices_by_id = {str(c.id): c for c in usable_containers(user, Role(slot))}
            sub.container.description = (
                f"The {Role(slot).noun}s you registered, and the operational ones that other "
                "members share."
            )
            sub.container.choices = container_choices(
                user, Role(slot), f"Choose {Role(slot).a_noun}…"
            )
            if not sub.choices_by_id and not self.is_submitted():
                sub.source.data = "links"  # nothing to pick from: start on the links

    def slots(self) -> dict[str, dict[str, Any]]:
        """The three run inputs, once the form is valid."""
        return {slot: getattr(self, slot).form.run_input() for slot in SLOTS}

    def add_errors(self, errors: dict[str, list[str]]) -> None:
        """Show errors found by the service next to the slot or field they concern."""
        for key, messages in errors.items():
            if key in SLOTS:
                sub = getattr(self, key).form
                target = sub.config_url if sub.uses_links else sub.container
            elif key == "":
                self.form_errors.extend(messages)
                continue
            else:
                target = getattr(self, key, None) or self.demo_url
            target.errors = [*target.errors, *messages]
