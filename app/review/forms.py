"""The decision form of the review page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from app.services.reviews import REASON_NEEDED

DECISIONS = {
    "approve": "Approve: every member can see it and ask to join with a model",
    "request_changes": "Request changes: the owner edits it, then it is tested and reviewed again",
    "reject": "Reject: final, the owner cannot submit it again",
    "revoke": "Revoke the approval: it ends rejected, for good",
}


def strip(value):
    """Drop the spaces around a typed reason."""
    return value.strip() if isinstance(value, str) else value


class DecisionForm(FlaskForm):
    """One decision on a benchmark, with the reason the owner reads."""

    decision = RadioField(
        "Your decision",
        choices=[SelectChoice(value, label) for value, label in DECISIONS.items()],
        validators=[InputRequired("Choose a decision.")],
    )
    reason = TextAreaField(
        "Reason",
        filters=[strip],
        validators=[Length(max=5000, message="Keep it under 5000 characters.")],
        description="The owner reads it, and it stays in the benchmark's history. E.g. “The "
        "evaluator reports accuracy only; please add AUC, as your documentation promises.”",
    )
    submit = SubmitField("Record the decision")

    def validate_reason(self, field) -> None:
        """A decision against the owner needs a reason they can act on."""
        if self.decision.data in REASON_NEEDED and not field.data:
            raise ValidationError(REASON_NEEDED[self.decision.data])
