"""Forms of join requests: ask with a model, decide on a request, set the join policy."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from app.containers.forms import container_choices, strip
from app.models import Role, User

POLICIES = {
    "never": "Never: I decide on every model myself",
    "always": "Always: every model that passes the test joins",
    "list": "Only models of the members whose emails I list below",
}


class AskToJoinForm(FlaskForm):
    """The model a member wants to take part in the benchmark with."""

    model_id = SelectField(
        "Your model",
        choices=[],
        validate_choice=False,  # the service says in plain words why a model cannot be used
        validators=[InputRequired("Choose one of the models in the list.")],
        description="Your own models, and the operational models other members share. "
        "E.g. Chest X-ray DenseNet 2.1.",
    )
    submit = SubmitField("Test my model and ask to join")

    @classmethod
    def for_member(cls, user: User, *, shared: bool = True, **kwargs) -> AskToJoinForm:
        """Build the form with the models this member may use (only their own unless shared)."""
        form = cls(**kwargs)
        form.model_id.choices = container_choices(user, Role.MODEL, "Choose…", shared=shared)
        if not shared:
            form.model_id.description = "Your own models. E.g. Chest X-ray DenseNet 2.1."
        return form


class JoinDecisionForm(FlaskForm):
    """Approve or reject one pending request; a rejection needs a reason."""

    reason = TextAreaField(
        "Reason",
        filters=[strip],
        validators=[Length(max=5000, message="Keep it under 5000 characters.")],
        description="The asker reads it. E.g. “The model was trained on part of the test "
        "hospitals' data.”",
    )
    approve = SubmitField("Approve")
    reject = SubmitField("Reject")


class JoinPolicyForm(FlaskForm):
    """Which models join without the owner's decision, once their test passes."""

    policy = RadioField(
        "Models that pass their test join without my decision",
        choices=[SelectChoice(value, label) for value, label in POLICIES.items()],
        validators=[InputRequired("Choose one of the three choices.")],
    )
    allowlist = TextAreaField(
        "Emails of the members whose models join without my decision",
        filters=[strip],
        validators=[Length(max=20000, message="Keep the list under 20000 characters.")],
        description="One email address per line (commas work too). Used only with the third "
        "choice. E.g. ana@hospital.example.org",
    )
    submit = SubmitField("Save the join policy")
