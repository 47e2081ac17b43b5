"""Forms for signing up, signing in and changing a password."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from app.names import normalized, plain_name

MIN_PASSWORD = 10


def new_password_field(label: str, missing: str) -> PasswordField:
    """A password being chosen: long enough, and said how long."""
    return PasswordField(
        label,
        validators=[
            InputRequired(missing),
            Length(
                min=MIN_PASSWORD,
                max=200,
                message=f"Use at least {MIN_PASSWORD} characters; a short sentence works well.",
            ),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )


def repeat_field(label: str, missing: str) -> PasswordField:
    """The chosen password typed again, which must match the field named password."""
    return PasswordField(
        label,
        validators=[
            InputRequired(missing),
            EqualTo("password", "The two passwords are not the same."),
        ],
    )


class SignUpForm(FlaskForm):
    """A new member's account."""

    display_name = StringField(
        "Your name",
        filters=[normalized],
        validators=[InputRequired("Please enter your name."), Length(max=80), plain_name],
        description="Shown to other members next to what you publish, e.g. Dr. Ana Silva.",
    )
    email = EmailField(
        "Email",
        validators=[
            InputRequired("Please enter your email address."),
            Email("This does not look like an email address, e.g. ana@hospital.org."),
            Length(max=254),
        ],
        description="You sign in with it, e.g. ana@hospital.org.",
    )
    password = new_password_field("Password", "Please choose a password.")
    confirm = repeat_field("Repeat the password", "Please type the password again.")
    submit = SubmitField("Create my account")


class SignInForm(FlaskForm):
    """Credentials of an existing member."""

    email = EmailField(
        "Email", validators=[InputRequired("Please enter your email address."), Length(max=254)]
    )
    password = PasswordField("Password", validators=[InputRequired("Please enter your password.")])
    remember = BooleanField(
        "Keep me signed in on this computer",
        description="Leave unticked on a shared computer.",
    )
    submit = SubmitField("Sign in")


class ChangePasswordForm(FlaskForm):
    """A member's new password, given with the present one."""

    current = PasswordField(
        "Your present password",
        validators=[InputRequired("Please enter your present password.")],
        description="So that nobody who finds this computer signed in can change it.",
    )
    password = new_password_field("New password", "Please choose a new password.")
    confirm = repeat_field("Repeat the new password", "Please type the new password again.")
    submit = SubmitField("Change my password")


class ForgotPasswordForm(FlaskForm):
    """The address to mail a reset link to."""

    email = EmailField(
        "Email",
        validators=[
            InputRequired("Please enter the email address you sign in with."),
            Length(max=254),
        ],
        description="The address you sign in with, e.g. ana@hospital.org.",
    )
    submit = SubmitField("Mail me a link")


class ResetPasswordForm(FlaskForm):
    """A new password, chosen through a mailed link."""

    password = new_password_field("New password", "Please choose a new password.")
    confirm = repeat_field("Repeat the new password", "Please type the new password again.")
    submit = SubmitField("Save my new password")


class MailSettingsForm(FlaskForm):
    """Which notices a member also gets by email (one box per kind, filled in by the view)."""

    submit = SubmitField("Save my email settings")
