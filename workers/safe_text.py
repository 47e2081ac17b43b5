"""Text from containers made harmless to store and show: control and invisible characters escaped.

A container may print NUL bytes (which PostgreSQL refuses), terminal escapes that move the
cursor or retitle a window, backspaces and carriage returns that overwrite what came before,
bidirectional overrides that reverse how a line reads, and Unicode line separators that split
one line into two where lines are counted. Each of these becomes a visible escape such as
`\\x1b` or `\\u202e`; colour codes (the harmless and common ANSI "SGR" sequences) are dropped.
Escaping is idempotent: cleaning a cleaned text changes nothing.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache
from typing import Any

# Controls (Cc), invisible formatting such as bidi overrides and zero-width joiners (Cf),
# lone surrogates (Cs) and the line and paragraph separators (Zl, Zp).
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
COLOUR_CODE = re.compile(r"\x1b\[[0-9;:]*m")


@cache
def _unsafe_codes(limit: int = sys.maxunicode + 1) -> tuple[int, ...]:
    """The unsafe code points below limit, found once (0.1 s for all; `re` has no categories)."""
    category = unicodedata.category
    return tuple(code for code in range(limit) if category(chr(code)) in UNSAFE_CATEGORIES)


def _pattern(text: str, keep: str) -> re.Pattern[str]:
    """The unsafe-character pattern for text: ASCII text needs only the ASCII part."""
    # Most text (links, names, messages, a typical log line) is ASCII, and the whole table
    # costs a tenth of a second to find: a command line would pay it for a link.
    return _unsafe(keep, ascii_only=text.isascii())


@cache
def _unsafe(keep: str, ascii_only: bool = False) -> re.Pattern[str]:
    """A pattern of every unsafe character but those in `keep`, built once per `keep`."""
    ranges: list[tuple[int, int]] = []
    codes = _unsafe_codes(128) if ascii_only else _unsafe_codes()
    for code in codes:
        if chr(code) in keep:
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    body = "".join(
        _escaped(start) if start == end else f"{_escaped(start)}-{_escaped(end)}"
        for start, end in ranges
    )
    return re.compile(f"[{body}]")


def prepare() -> None:
    """Build the patterns now: a worker does before it forks, so no run pays for them."""
    for keep in ("\t", "\t\n"):
        _unsafe(keep)
        _unsafe(keep, ascii_only=True)


def _escaped(code: int) -> str:
    return f"\\U{code:08x}"  # regular-expression syntax, valid for every code point


def visible_escape(char: str) -> str:
    """Spell one character the way Python would: \\x00, \\u202e, \\U000e0041."""
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def clean_line(text: str) -> str:
    """Make one line safe: no control, invisible or line-breaking character stays raw."""
    text = COLOUR_CODE.sub("", text)
    return _pattern(text, "\t").sub(lambda m: visible_escape(m.group()), text)


def clean_text(text: str) -> str:
    """Make multi-line text safe: like clean_line, but newlines stay (and only newlines)."""
    text = COLOUR_CODE.sub("", text)
    return _pattern(text, "\t\n").sub(lambda m: visible_escape(m.group()), text)


def clean_data(value: Any) -> Any:
    """Clean every string of a JSON-like value, mapping keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_data(k) if isinstance(k, str) else k: clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value


def has_unsafe(text: str) -> bool:
    """Tell whether text holds a character clean_text would escape (a NUL, an escape...)."""
    return _pattern(text, "\t\n").search(text) is not None
