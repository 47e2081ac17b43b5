"""Talking to the portal as a browser does: forms with their CSRF token, page text, streams."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    """Open a page and return the CSRF token of its form, as a browser would see it."""
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {page.status_code})"
    return match.group(1)


def post_form(client, url: str, data: dict, *, page: str | None = None, **kwargs):
    """Submit a form the way a browser does: load its page, then post with the token."""
    token = csrf_token(client, page or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def page_text(response) -> str:
    """The page's HTML with its entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def sse_blocks(response) -> Iterator[dict[str, Any]]:
    """Read a streamed text/event-stream response block by block, as a browser would.

    Each block is a dict with `comments` (list), and `id`, `event`, `data`, `retry` when sent.
    """
    buffer = ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            raw, buffer = buffer.split("\n\n", 1)
            block: dict[str, Any] = {"comments": []}
            for line in raw.split("\n"):
                if line.startswith(":"):
                    block["comments"].append(line[1:].strip())
                else:
                    field, _, value = line.partition(": ")
                    block[field] = value
            yield block
