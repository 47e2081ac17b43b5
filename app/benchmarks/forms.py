"""Forms for submitting and editing a benchmark, and the catalogue's search."""

from __future__ import annotations

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
from wtforms.validators import InputRequired, Length

from app.containers.forms import (
    container_choices,
    link_validators,
    search_words,
    sha256_field,
    strip,
)
from app.models import Role, User
from app.names import normalized, plain_name

# The container fields, the role each takes, and how the form explains them.
CONTAINER_FIELDS = {
    "prep_id": Role.DATA_PREPARATOR,
    "model_id": Role.MODEL,
    "evaluator_id": Role.EVALUATOR,
}


def container_field(label: str, description: str) -> SelectField:
    """A drop-down list of containers, filled per member by BenchmarkForm.for_member."""
    return SelectField(
        label,
        choices=[],
        validate_choice=False,  # the service says in plain words why a container cannot be used
        validators=[InputRequired("Choose one of the containers in the list.")],
        description=description,
    )


class BenchmarkForm(FlaskForm):
    """A benchmark: what it is, its demo data and its three containers."""

    name = StringField(
        "Name",
        filters=[normalized],
        validators=[
            InputRequired("Please give the benchmark a name."),
            Length(max=128, message="Use at most 128 characters."),
            plain_name,
        ],
        description="How members find the benchmark. It must be unique; upper and lower case "
        "count as the same. E.g. Chest X-ray pneumonia detection 2025.",
    )
    description = TextAreaField(
        "Description",
        filters=[strip],
        validators=[
            InputRequired("Please describe the benchmark in a few sentences."),
            Length(max=5000, message="Keep it under 5000 characters."),
        ],
        description="What the benchmark measures, on which kind of data, and who should take "
        "part. E.g. “Detects pneumonia on frontal chest X-rays; scored by AUC on each "
        "hospital's own images.”",
    )
    docs_url = URLField(
        "Documentation link",
        filters=[strip],
        validators=link_validators("benchmark-guide", required=False),
        description="A page that explains the benchmark in more detail: the data it expects, "
        "how to prepare it, how the score is computed. "
        "E.g. https://github.com/ana/chest-benchmark#readme",
    )
    demo_url = URLField(
        "Link to the demo data",
        filters=[strip],
        validators=link_validators("demo_data.tar.gz", required=True),
        description="A small sample dataset, packed as one .tar.gz archive (see how just above). "
        "Benchgate runs the three containers on it. "
        "E.g. https://zenodo.org/records/123456/files/demo_data.tar.gz",
    )
    demo_sha256 = sha256_field("Expected SHA-256 of the demo data")
    prep_id = container_field(
        Role.DATA_PREPARATOR.benchmark_label,
        "Turns raw data into the prepared data the models read, checks it and describes it. "
        "E.g. Chest X-ray preparation 1.0.",
    )
    model_id = container_field(
        Role.MODEL.benchmark_label,
        "The model that shows the benchmark works; other models are compared with it. "
        "E.g. Chest X-ray ResNet baseline.",
    )
    evaluator_id = container_field(
        Role.EVALUATOR.benchmark_label,
        "Scores a model's predictions against the labels; its output is the benchmark's "
        "results. E.g. Chest X-ray AUC metrics.",
    )
    make_operational = BooleanField(
        "Make my containers operational when the benchmark is approved",
        description="Operational containers are frozen: nobody can change their files any "
        "more, so every hospital runs exactly what was tested and approved. Only your own "
        "containers that are still in development are affected. Recommended.",
        default=True,
    )
    submit = SubmitField("Submit and test")

    @classmethod
    def for_member(cls, user: User, **kwargs) -> BenchmarkForm:
        """Build the form with the containers this member may choose."""
        form = cls(**kwargs)
        for key, role in CONTAINER_FIELDS.items():
            choices = container_choices(user, role, "Choose…")
            if len(choices) == 1:  # only the prompt: nothing of this role to choose from
                kind = role.label.lower()
                choices = [SelectChoice("", f"No {kind} to choose yet")]
                form[key].validators = [
                    InputRequired(
                        f"You have no {kind} yet, and no member shares an operational one: "
                        "register yours first (Containers, then Register a container)."
                    )
                ]
            form[key].choices = choices
        return form


class EditBenchmarkForm(BenchmarkForm):
    """The same fields, prefilled from the benchmark."""

    submit = SubmitField("Save and test again")


class CatalogueSearchForm(Form):
    """The catalogue's search, sent with GET so a result page can be bookmarked."""

    q = SearchField("Name contains", filters=[search_words], validators=[Length(max=128)])
