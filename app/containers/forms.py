"""Forms for registering, editing, re-hosting and invalidating containers, and the filters."""

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, InputRequired, Length, Optional, Regexp, ValidationError

from app.models import Container, Role, User
from app.names import normalized, plain_name
from app.services.containers import usable_containers
from workers.container_config import is_valid_digest
from workers.fetch import FetchError, check_link

SHA256_HELP = (
    "If you know this file's SHA-256 hash, paste it: Benchgate then refuses any other file. "
    "Leave it empty to record the hash of the file downloaded now. "
    "It is 64 characters, digits and the letters a-f, e.g. 9f86d081884c7d65…"
)
NOT_A_LINK = (
    "This is not a web link: it must start with http:// or https://, "
    "like https://files.example.org/{}."
)


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip(value):
    """Drop the spaces a copy and paste often brings along; refuse invisible control characters.

    A NUL cannot even be stored in PostgreSQL: the ValueError becomes the field's error.
    """
    if not isinstance(value, str):
        return value
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("This contains invisible control characters; please type it again.")
    return value.strip()


def search_words(value):
    """A search box's text without control characters (a search has no error to show)."""
    return CONTROL_CHARACTERS.sub("", value).strip() if isinstance(value, str) else value


class WebLink:
    """Accept only http:// and https:// links with a server name (after WTForms' URL check)."""

    def __call__(self, form, field):
        if field.errors or not field.data:
            return  # the URL check already said what is wrong
        try:
            check_link(field.data)
        except FetchError as exc:
            message = str(exc)
            raise ValidationError(message[0].upper() + message[1:] + ".") from None


def link_validators(example: str, *, required: bool) -> list:
    """Validators of a link field: present or optional, a URL, and an http(s) web link."""
    first = InputRequired("Please paste the link.") if required else Optional()
    return [
        first,
        Length(max=2048, message="This link is too long (over 2048 characters)."),
        URL(require_tld=False, message=NOT_A_LINK.format(example)),
        WebLink(),
    ]


def sha256_field(label: str) -> StringField:
    """An optional expected SHA-256 field (either case accepted)."""
    return StringField(
        label,
        filters=[strip],
        validators=[
            Optional(),
            Regexp(
                r"^[0-9a-fA-F]{64}$",
                message="A SHA-256 hash is 64 characters, digits 0-9 and letters a-f; "
                "copy it again or leave the field empty.",
            ),
        ],
        description=SHA256_HELP,
    )


def valid_digest(form, field):
    """Refuse a digest that is not sha256: and 64 hex characters."""
    if field.data and not is_valid_digest(field.data.lower()):
        raise ValidationError(
            "An image digest is “sha256:” followed by 64 characters 0-9 and a-f, "
            "as shown by docker images --digests."
        )


class ContainerForm(FlaskForm):
    """A container given by the links to its files."""

    name = StringField(
        "Name",
        filters=[normalized],
        validators=[
            InputRequired("Please give the container a name."),
            Length(max=128, message="Use at most 128 characters."),
            plain_name,
        ],
        description="How members find the container and pick it for a benchmark. It must be "
        "unique; upper and lower case count as the same. E.g. Chest X-ray preparation 1.0.",
    )
    config_url = URLField(
        "Link to the configuration file",
        filters=[strip],
        validators=link_validators("container_config.yaml", required=True),
        description="The container_config.yaml (MedPerf format) that names the Docker image and "
        "where each task reads and writes its files. Benchgate downloads and checks it "
        "now. E.g. https://raw.githubusercontent.com/ana/chest-prep/main/container_config.yaml",
    )
    config_sha256 = sha256_field("Expected SHA-256 of the configuration file")
    parameters_url = URLField(
        "Link to the parameters file",
        filters=[strip],
        validators=link_validators("parameters.yaml", required=False),
        description="The parameters.yaml the container reads, needed when its configuration "
        "mounts a parameters_file. Benchgate downloads and reads it now. "
        "E.g. https://raw.githubusercontent.com/ana/chest-prep/main/parameters.yaml",
    )
    parameters_sha256 = sha256_field("Expected SHA-256 of the parameters file")
    additional_files_url = URLField(
        "Link to the additional files",
        filters=[strip],
        validators=link_validators("weights.tar.gz", required=False),
        description="One .tar.gz, .tgz or .tar archive with model weights or other files, "
        "unpacked and mounted as additional_files. Benchgate only checks now that the link "
        "answers; the first compatibility test downloads it and records its hash. "
        "E.g. https://zenodo.org/records/123456/files/weights.tar.gz",
    )
    additional_files_sha256 = sha256_field("Expected SHA-256 of the additional files")
    image_digest = StringField(
        "Expected image digest",
        filters=[strip],
        validators=[Optional(), Length(max=80), valid_digest],
        description="Pins the exact Docker image. It is sha256: followed by 64 characters, "
        "as docker images --digests shows. Leave it empty and the digest used in the first "
        "passing compatibility test is pinned.",
    )
    operational = BooleanField(
        "Make it operational now (final)",
        description="An operational container is frozen: you can no longer edit it or change "
        "its files, only re-host them at a new address if they stay exactly the same. Leave "
        "this unticked while you are still working on the container; you can do it later.",
    )
    submit = SubmitField("Check and register")


class EditContainerForm(ContainerForm):
    """The same fields, prefilled from the record."""

    submit = SubmitField("Check and save")

    @classmethod
    def for_container(cls, container) -> "EditContainerForm":
        """Prefill from the record, except the hashes a save records again from the links."""
        form = cls(obj=container)
        if not form.is_submitted():
            # An old hash left in place would refuse the very file the member just updated.
            form.config_sha256.data = None
            form.parameters_sha256.data = None
        return form


class RehostForm(FlaskForm):
    """A new address for one of a frozen container's files; the file itself must not change."""

    file = SelectField(
        "Which file moved",
        choices=[],
        validators=[InputRequired("Choose which file moved.")],
        description="Only the files this container has are listed.",
    )
    url = URLField(
        "Its new link",
        filters=[strip],
        validators=link_validators("container_config.yaml", required=True),
        description="Where the very same file can be downloaded now. "
        "E.g. https://files.example.org/container_config.yaml",
    )
    submit = SubmitField("Check and re-host")


class InvalidateForm(FlaskForm):
    """Confirmation that a container must not be used any more."""

    reason = TextAreaField(
        "Why",
        filters=[strip],
        validators=[Optional(), Length(max=2000, message="Keep it under 2000 characters.")],
        description="Kept in the container's history, e.g. “The model weights were trained "
        "on the test data.”",
    )
    submit = SubmitField("Mark it invalid")


class OperationalForm(FlaskForm):
    """Confirmation of the one-way step to operational."""

    submit = SubmitField("Yes, make it operational")


ROLE_CHOICES = [SelectChoice("", "All roles")] + [
    SelectChoice(role.value, role.label) for role in Role
]


class CatalogueFilterForm(Form):
    """The catalogue's filters, sent with GET so a filtered page can be bookmarked."""

    q = SearchField("Name contains", filters=[search_words], validators=[Length(max=128)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="")
    mine = BooleanField("Only my containers")

    def selected_role(self) -> Role | None:
        """Return the chosen role, or None for all (or for a value that is no role)."""
        try:
            return Role(self.role.data) if self.role.data else None
        except ValueError:
            return None


def container_label(container: Container, user: User) -> str:
    """How a container reads in a drop-down list of containers."""
    if container.owner_id == user.id:
        state = "operational" if container.is_operational else "in development"
        return f"{container.name} ({state})"
    return f"{container.name} (by {container.owner.display_name})"


def container_choices(
    user: User, role: Role, prompt: str, *, shared: bool = True
) -> list[SelectChoice]:
    """The containers of a role user may pick: their own first, then others' operational ones."""
    containers = usable_containers(user, role, shared=shared)
    own = [c for c in containers if c.owner_id == user.id]
    shared = [c for c in containers if c.owner_id != user.id]
    return (
        [SelectChoice("", prompt)]
        + [SelectChoice(str(c.id), container_label(c, user), optgroup="Yours") for c in own]
        + [
            SelectChoice(
                str(c.id), container_label(c, user), optgroup="Operational, shared by others"
            )
            for c in shared
        ]
    )
