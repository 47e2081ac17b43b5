"""The shape of a run's links and hashes, checked alike by the form and `flask compat-test`."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def is_http_url(value: str) -> bool:
    """Tell whether value is an absolute http:// or https:// link with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value
