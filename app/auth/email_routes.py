"""Views for what goes through email: confirming the address, a forgotten password, notices."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth import bp
from app.auth.forms import ForgotPasswordForm, MailSettingsForm, ResetPasswordForm
from app.services.errors import Refusal
from app.services.identity import (
    account_of_reset_link,
    reset_with_link,
    send_password_reset,
    send_verification,
    set_mail_opt_outs,
    verify_email,
)
from app.services.mail import NOTICE_KINDS
from app.services.throttle import throttle

TOO_MANY = 429
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/verify/<token>", endpoint="verify_email")
def verify_email_link(token: str):
    try:
        user = verify_email(token)
    except Refusal as error:
        return render_template("auth/link_problem.html", message=str(error)), 400, NO_STORE
    flash(f"Thank you: {user.email} is confirmed. You can now submit and ask to join.", "success")
    target = "main.home" if current_user.is_authenticated else "auth.signin"
    return redirect(url_for(target))


@bp.route("/verify/again", methods=["POST"])
@login_required
def send_verification_again():
    if current_user.is_verified:
        flash("Your email address is confirmed already.", "info")
    elif throttle().take_signup(request.remote_addr or ""):
        flash("Too many messages asked for from here: try again in an hour.", "error")
    else:
        send_verification(current_user._get_current_object())
        flash(f"We mailed a new link to {current_user.email}.", "success")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("main.home"))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    status = 200
    if form.validate_on_submit():
        refusal = throttle().take_signup(request.remote_addr or "")
        if refusal:
            form.email.errors.append(refusal)
            status = TOO_MANY
        else:
            send_password_reset(form.email.data)
            # The same words whether or not the address has an account.
            return render_template("auth/forgot_sent.html", email=form.email.data)
    return render_template("auth/forgot.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        account_of_reset_link(token)
    except Refusal as error:
        return render_template("auth/link_problem.html", message=str(error)), 400, NO_STORE
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            reset_with_link(token, form.password.data)
        except Refusal as error:
            return render_template("auth/link_problem.html", message=str(error)), 400, NO_STORE
        flash(
            "Your new password is saved, and every session was signed out. Sign in with it.",
            "success",
        )
        return redirect(url_for("auth.signin"))
    # The token is in this page's address: keep it out of caches and of Referer headers.
    return render_template("auth/reset.html", form=form), 200, NO_STORE


@bp.route("/email-settings", methods=["POST"])
@login_required
def email_settings():
    form = MailSettingsForm()
    if not form.validate_on_submit():
        abort(400)
    wanted = set(request.form.getlist("kinds"))
    set_mail_opt_outs(
        current_user._get_current_object(), [kind for kind in NOTICE_KINDS if kind not in wanted]
    )
    flash("Your email settings are saved.", "success")
    return redirect(url_for("auth.account") + "#email")


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
