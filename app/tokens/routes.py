"""Views of personal access tokens: the list, a new token shown once, revocation."""

from flask import flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.form_errors import show_errors
from app.services.api_tokens import create_token, live_tokens, revoke_token
from app.services.errors import Refusal
from app.tokens import bp
from app.tokens.forms import TokenForm


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = TokenForm(is_admin=current_user.is_admin)
    secret = None
    if form.validate_on_submit():
        try:
            token, secret = create_token(
                current_user, form.name.data, form.scopes.data or [], form.expires_in_days()
            )
        except Refusal as error:
            show_errors(form, error)
        else:
            form = TokenForm(formdata=None, is_admin=current_user.is_admin)
            flash(f"Token “{token.name}” is made. Copy it now: it is not shown again.", "success")
    response = make_response(
        render_template(
            "tokens/index.html", form=form, tokens=live_tokens(current_user), secret=secret
        )
    )
    response.headers["Cache-Control"] = "no-store"  # the page may hold a token
    return response


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    if revoke_token(current_user, token_id):
        flash("The token is revoked: scripts that use it are refused from now on.", "success")
    else:
        flash("That token had already stopped working.", "info")
    return redirect(url_for("tokens.index"))
