"""Views for accounts."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import SignInForm, SignUpForm
from app.services.accounts import AccountError, authenticate, register_user
from app.services.throttle import throttle

TOO_MANY = 429


def _safe_next(target: str | None) -> str:
    """Return the page to go back to, only if it is on this site."""
    if target and urlsplit(target).netloc == "" and target.startswith("/") and "//" not in target:
        return target
    return url_for("main.home")


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignUpForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or ""
        refusal = throttle().signup_refusal(address)
        if refusal:
            form.email.errors.append(refusal)
            status = TOO_MANY
        else:
            try:
                user = register_user(form.email.data, form.display_name.data, form.password.data)
            except AccountError as error:
                form.email.errors.append(str(error))
            else:
                throttle().count_signup(address)
                login_user(user)
                flash(f"Welcome, {user.display_name}! Your account is ready.", "success")
                return redirect(url_for("main.home"))
    return render_template("auth/signup.html", form=form), status


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or ""
        # Checked before the password, so that guessing on stays useless once paused.
        refusal = throttle().signin_refusal(form.email.data, address)
        if refusal:
            form.password.errors.append(refusal)
            status = TOO_MANY
        else:
            try:
                user = authenticate(form.email.data, form.password.data)
            except AccountError as error:
                throttle().count_failed_signin(form.email.data, address)
                form.password.errors.append(str(error))
            else:
                login_user(user, remember=form.remember.data)
                flash(f"Signed in as {user.display_name}.", "success")
                return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/signin.html", form=form), status


@bp.route("/signout", methods=["POST"])
@login_required
def signout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.signin"))
