"""The API's OpenAPI 3.1 document and its readable page."""

from flask import jsonify, render_template

from app.api import bp
from app.api.auth import public
from app.api.spec import openapi_document


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(openapi_document())


@bp.get("/docs")
@public
def docs():
    return render_template("api/docs.html", spec=openapi_document())
