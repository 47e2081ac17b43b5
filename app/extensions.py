"""Flask extensions, created unbound and initialised in the application factory.

Sign-in (`login_manager`) and CSRF protection (`csrf`) are made when first imported: their
libraries (Flask-Login, Flask-WTF and WTForms) are for the portal's pages, and `flask
compat-test` never loads them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_sqlalchemy import SQLAlchemy

from app.database import Base, PortalSession

db = SQLAlchemy(model_class=Base, session_options={"class_": PortalSession})


@cache
def _login_manager() -> Any:
    from flask_login import LoginManager

    return LoginManager()


@cache
def _csrf() -> Any:
    from flask_wtf import CSRFProtect

    return CSRFProtect()


_MADE_ON_USE = {"login_manager": _login_manager, "csrf": _csrf}


def __getattr__(name: str) -> Any:
    """`from app.extensions import csrf` (or login_manager): the one instance, made on use."""
    if name in _MADE_ON_USE:
        return _MADE_ON_USE[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
