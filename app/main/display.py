"""How moments read on every page: a <time> element with its machine-readable instant."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

from app.main import bp
from app.services.page_cache import csrf_mark, running_since, viewer_mark

bp.add_app_template_global(viewer_mark, "viewer_mark")
bp.add_app_template_global(csrf_mark, "csrf_mark")
bp.add_app_template_global(running_since, "running_since")


@bp.app_template_filter("time_tag")
def time_tag(moment: datetime, pattern: str = "%Y-%m-%d %H:%M UTC") -> Markup:
    """Write a <time> element: the instant for machines, `pattern` (strftime) for people."""
    # One filter call instead of two method calls per row: lists print a date on every row.
    # An ISO 8601 instant is digits and "-:.+T": nothing in it to escape.
    text = escape(moment.strftime(pattern))
    return Markup(f'<time datetime="{moment.isoformat()}">{text}</time>')
