"""Protections of every answer: security headers, the request body cap, refused characters."""

from __future__ import annotations

from flask import Flask, Response, abort, g, render_template, request, session
from werkzeug.exceptions import RequestEntityTooLarge

# No inline script or style anywhere: the pages load theirs from /static. `data:` images are
# what the browser's own form controls use; nothing is fetched from another site.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_security(app: Flask) -> None:
    """Install the headers, the body cap's page and the refusal of NUL characters."""
    app.before_request(refuse_nul_characters)
    app.after_request(add_security_headers)
    app.register_error_handler(RequestEntityTooLarge, too_large)


def add_security_headers(response: Response) -> Response:
    """Add the security headers; keep pages shown to a signed-in member out of every cache."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static" and signed_in():
        response.headers["Cache-Control"] = "no-store"
    return response


def signed_in() -> bool:
    """Tell whether the request comes from a signed-in member, without loading the account."""
    user = g.get("_login_user")
    if user is not None:
        return bool(user.is_authenticated)
    return "_user_id" in session


def refuse_nul_characters() -> None:
    """Answer 400 to a NUL character in the query string or a form field.

    No form takes one, and PostgreSQL refuses it in any text it is given. The API refuses
    it itself, in JSON with the field it was found in (app.api).
    """
    if request.path.startswith("/api/"):
        return
    fields = [*request.args.items(multi=True)]
    if request.method != "GET" and request.mimetype in FORM_TYPES:
        fields += request.form.items(multi=True)
    if any("\x00" in key or "\x00" in value for key, value in fields):
        abort(400, "The request holds a NUL character, which no field of Benchgate accepts.")


def too_large(error: RequestEntityTooLarge):
    """A plain page for a request whose body passes MAX_CONTENT_LENGTH."""
    return render_template("errors/413.html"), 413
