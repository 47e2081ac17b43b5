"""Forms for signing up and signing in."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import Email, EqualTo, InputRequired, Length

MIN_PASSWORD = 10


class SignUpForm(FlaskForm):
    """A new member's account."""

    display_name = StringField(
        "Your name",
        validators=[InputRequired("Please enter your name."), Length(max=80)],
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
    password = PasswordField(
        "Password",
        validators=[
            InputRequired("Please choose a password."),
            Length(
                min=MIN_PASSWORD,
                max=200,
                message=f"Use at least {MIN_PASSWORD} characters; a short sentence works well.",
            ),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            InputRequired("Please type the password again."),
            EqualTo("password", "The two passwords are not the same."),
        ],
    )
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
    password = PasswordField(
        "New password",
        validators=[
            InputRequired("Please choose a new password."),
            Length(
                min=MIN_PASSWORD,
                max=200,
                message=f"Use at least {MIN_PASSWORD} characters; a short sentence works well.",
            ),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            InputRequired("Please type the new password again."),
            EqualTo("password", "The two passwords are not the same."),
        ],
    )
    submit = SubmitField("Change my password")
