"""The form that makes a personal access token."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

NEVER = "never"
EXPIRY_CHOICES = [
    SelectChoice("7", "7 days"),
    SelectChoice("30", "30 days"),
    SelectChoice("90", "90 days"),
    SelectChoice("365", "1 year"),
    SelectChoice(NEVER, "Never"),
]
ADMIN = SelectChoice("admin", "Admin: review benchmarks (administrators only)")
WRITE = SelectChoice("write", "Write: register and edit containers, start tests, submit benchmarks")


class CheckboxesField(SelectMultipleField):
    """Several choices, shown as check boxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(FlaskForm):
    """Name, scopes and lifetime of a new token."""

    name = StringField(
        "Name",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            InputRequired("Give the token a name that says where it is used, e.g. CI."),
            Length(max=80, message="Keep the name under 80 characters."),
        ],
        description="Where the token is used, so that you know which one to revoke, "
        "e.g. GitHub Actions of chest-prep.",
    )
    scopes = CheckboxesField(
        "What it may do besides reading",
        choices=[WRITE, ADMIN],
        description="Every token may read what you can see. Leave both unticked for a "
        "read-only token.",
    )
    expires = SelectField(
        "Expires after",
        choices=EXPIRY_CHOICES,
        default="90",
        description="A token that never expires works until you revoke it.",
    )
    submit = SubmitField("Make the token")

    def __init__(self, *args, is_admin: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scopes.choices = [WRITE, ADMIN] if is_admin else [WRITE]

    def expires_in_days(self) -> int | None:
        return None if self.expires.data == NEVER else int(self.expires.data)
