"""Names people give (benchmarks, containers, members): one written form, nothing invisible."""

from __future__ import annotations

import unicodedata
from typing import Any

from wtforms.validators import ValidationError

# Control (Cc), format (Cf: zero-width space and joiners, soft hyphen, the bidirectional
# embeddings, overrides, isolates and marks), private-use (Co) and surrogate (Cs) characters.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
# Characters of other categories that show nothing: Hangul fillers, Mongolian and other
# variation selectors, the combining grapheme joiner, the Khmer inherent vowels, braille blank.
INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0]
    + list(range(0x180B, 0x1810))
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0100, 0xE01F0))
)


def normalize_name(text: str) -> str:
    """Return the name in Unicode NFKC, with each run of spaces made one space, trimmed.

    NFKC writes look-alike forms one way (a full-width Ａ is A, the ligature ﬁ is fi); a page
    shows several spaces as one, so two names must not differ by that alone.
    """
    return " ".join(unicodedata.normalize("NFKC", text).split())


def name_key(text: str) -> str:
    """Return the form of a name that uniqueness is checked on: normalised, lower case."""
    return normalize_name(text).lower()


def name_problem(text: str) -> str | None:
    """Say why a name cannot be used: it holds a character that shows nothing, or turns text."""
    # As typed (spaces become one space), then as written, which NFKC may have changed.
    for char in text + normalize_name(text):
        if char.isspace():
            continue
        if unicodedata.category(char) in REFUSED_CATEGORIES or ord(char) in INVISIBLE:
            described = unicodedata.name(char, "a control character").lower()
            return (
                f"Remove the invisible character U+{ord(char):04X} ({described}): a name may "
                "hold only characters that show, so that no two names look the same."
            )
    return None


def normalized(value: Any) -> Any:
    """A WTForms filter: normalise a name as typed (other values pass unchanged)."""
    return normalize_name(value) if isinstance(value, str) else value


def plain_name(form: Any, field: Any) -> None:
    """A WTForms validator: refuse a name with an invisible or direction-changing character."""
    typed = field.raw_data[0] if field.raw_data else field.data  # before the filter ran
    problem = name_problem(typed if isinstance(typed, str) else "")
    if problem:
        raise ValidationError(problem)
