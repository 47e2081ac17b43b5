"""Error pages: plain words for people, JSON for API-style requests."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, InternalServerError

from app.extensions import db


def register(app: Flask) -> None:
    """Install the error handlers on the app."""
    from app.api.errors import http_error, is_api_request

    @app.errorhandler(HTTPException)
    def other_http_error(error: HTTPException):
        if is_api_request():
            return http_error(error)
        return error

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_template("errors/400.html", reason=error.description), 400

    @app.errorhandler(400)
    def bad_request(error):
        if is_api_request():
            return http_error(error)
        reason = error.description if error.description != BadRequest.description else None
        return render_template("errors/400.html", reason=reason), 400

    @app.errorhandler(403)
    def forbidden(error):
        if is_api_request():
            return http_error(error)
        # A view may say why with abort(403, "..."); werkzeug's default text is not for people.
        reason = error.description if error.description != Forbidden.description else None
        return render_template("errors/403.html", reason=reason), 403

    @app.errorhandler(404)
    def not_found(error):
        if is_api_request():
            return http_error(error)
        if request.accept_mimetypes.best == "application/json":
            return {"error": "not found"}, 404
        return render_template("errors/404.html"), 404

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()  # the failed request may have left the session unusable
        if is_api_request():
            return http_error(InternalServerError())
        return render_template("errors/500.html"), 500
