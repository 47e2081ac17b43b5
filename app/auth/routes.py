"""Views for accounts."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.forms import ChangePasswordForm, SignInForm, SignUpForm
from app.services.accounts import authenticate, change_password
from app.services.errors import Refusal
from app.services.identity import sign_up
from app.services.mail import NOTICE_KINDS
from app.services.sessions import close_session, end_one, live_sessions, open_session
from app.services.throttle import throttle

TOO_MANY = 429
REMEMBER_COOKIE = "remember_token"  # Flask-Login's default name


MAX_NEXT = 2048


def _safe_next(target: str | None) -> str:
    """Return the page to go back to, only if it is a path on this site; else the home page.

    Browsers read a backslash as a slash ("/\\evil" is "//evil", another site), and control
    characters cannot go into a Location header.
    """
    if (
        target
        and len(target) <= MAX_NEXT
        and target.startswith("/")
        and "//" not in target
        and "\\" not in target
        and target.isprintable()
        and not urlsplit(target).scheme
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("main.home")


def _answer(template: str, form, status: int):
    """The form again; when paused, with a Retry-After header saying when to come back."""
    headers = {"Retry-After": "60"} if status == TOO_MANY else {}
    return render_template(template, form=form), status, headers


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignUpForm()
    status = 200
    if form.validate_on_submit():
        refusal = throttle().take_signup(request.remote_addr or "")
        if refusal:
            form.form_errors.append(refusal)
            status = TOO_MANY
        else:
            try:
                user = sign_up(form.email.data, form.display_name.data, form.password.data)
            except Refusal as error:
                form.email.errors.append(str(error))
            else:
                login_user(user)
                flash(
                    f"Welcome, {user.display_name}! Your account is ready. We mailed a link to "
                    f"{user.email}: open it to confirm the address.",
                    "success",
                )
                return redirect(url_for("main.home"))
    return _answer("auth/signup.html", form, status)


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        address = request.remote_addr or ""
        refusal = throttle().take_signin_attempt(form.email.data, address)
        if refusal:
            form.password.errors.append(refusal)
            status = TOO_MANY
        else:
            try:
                user = authenticate(form.email.data, form.password.data)
            except Refusal as error:
                throttle().signin_failed(address)
                form.password.errors.append(str(error))
            else:
                throttle().signin_succeeded(form.email.data, address)
                open_session(user, remember=form.remember.data)
                login_user(user, remember=form.remember.data)
                flash(f"Signed in as {user.display_name}.", "success")
                return redirect(_safe_next(request.args.get("next")))
    return _answer("auth/signin.html", form, status)


@bp.route("/signout", methods=["POST"])
@login_required
def signout():
    close_session(current_user.session_token)
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.signin"))


@bp.route("/", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            member = current_user._get_current_object()  # the account itself, not its proxy
            remember = REMEMBER_COOKIE in request.cookies
            change_password(member, form.current.data, form.password.data, remember=remember)
        except Refusal as error:
            form.current.errors.append(str(error))
        else:
            login_user(member, remember=remember)  # the new session; the others have ended
            flash("Your password is changed. Use the new one next time you sign in.", "success")
            return redirect(url_for("auth.account"))
    return render_template(
        "auth/account.html",
        form=form,
        sessions=live_sessions(current_user),
        notice_kinds=NOTICE_KINDS,
    )


@bp.route("/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    if session_id == current_user.session_id:
        flash("To end this session, sign out.", "info")
    elif end_one(current_user, session_id):
        flash("That session is ended: it is signed out at its next page.", "success")
    else:
        flash("That session had already ended.", "info")
    return redirect(url_for("auth.account") + "#sessions")
