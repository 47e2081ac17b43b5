"""Container text made safe: escapes visible, nothing invisible or line-breaking left raw."""

from __future__ import annotations

import pytest

from workers.log_lines import CONTAINER, PLATFORM, format_line, parse_line
from workers.safe_text import clean_data, clean_line, clean_text, has_unsafe


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x00b", "a\\x00b"),
        ("\x1b[2J\x1b[Hwiped", "\\x1b[2J\\x1b[Hwiped"),  # clear screen, cursor home
        ("\x1b]0;pwned\x07title", "\\x1b]0;pwned\\x07title"),  # window title (OSC)
        ("done\rbenchgate: passed", "done\\x0dbenchgate: passed"),
        ("fail\b\b\b\bpass", "fail\\x08\\x08\\x08\\x08pass"),
        ("\u202edessap", "\\u202edessap"),  # right-to-left override
        ("a\u2028b\u2029c\x85d\x0be\x0cf\x1cg", "a\\u2028b\\u2029c\\x85d\\x0be\\x0cf\\x1cg"),
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("lone \udcff surrogate", "lone \\udcff surrogate"),
        ("\x7f\x9b", "\\x7f\\x9b"),
    ],
)
def test_clean_line_spells_out_every_hidden_or_moving_character(raw, shown):
    assert clean_line(raw) == shown
    assert not has_unsafe(clean_line(raw))


def test_colour_codes_are_dropped_and_ordinary_text_kept():
    assert clean_line("\x1b[1;31mred\x1b[0m é € 😀\tTab") == "red é € 😀\tTab"


def test_cleaning_twice_changes_nothing():
    raw = "x\x00\x1b[K\u202e\r\n\ud800y"
    assert clean_text(clean_text(raw)) == clean_text(raw)
    assert clean_line(clean_line(raw)) == clean_line(raw)


def test_clean_text_keeps_newlines_but_no_other_line_break():
    cleaned = clean_text("one\ntwo\r\nthree\u2028four")
    assert cleaned.splitlines() == ["one", "two\\x0d", "three\\u2028four"]


def test_clean_data_cleans_keys_and_values_at_every_depth():
    data = {"a\x00b": 1, "list": ["x\x00", {"k\u202e": "\ud800"}], "n": None, "f": 0.5}
    assert clean_data(data) == {
        "a\\x00b": 1,
        "list": ["x\\x00", {"k\\u202e": "\\ud800"}],
        "n": None,
        "f": 0.5,
    }


def test_a_container_cannot_write_a_line_that_parses_as_benchgates():
    forged = "x\n[prepare] [benchgate] all steps passed"
    stored = format_line("prepare", CONTAINER, forged)
    assert "\n" not in stored
    for piece in stored.splitlines():
        assert parse_line(piece).source == CONTAINER
    assert parse_line(format_line("prepare", CONTAINER, "[benchgate] x")).text == "[benchgate] x"
    own = parse_line(format_line("infer", PLATFORM, "Running model"))
    assert own.platform and own.step == "infer" and own.text == "Running model"


def test_lines_stored_before_sources_were_recorded_are_shown_unmarked():
    old = parse_line("[prepare] benchgate: running image")
    assert old.source is None and not old.platform


def test_ascii_text_is_cleaned_as_the_full_table_would():
    from workers.safe_text import _unsafe, visible_escape

    every_ascii = "".join(chr(code) for code in range(128))
    for keep, clean in (("\t", clean_line), ("\t\n", clean_text)):
        full = _unsafe(keep).sub(lambda m: visible_escape(m.group()), every_ascii)
        assert clean(every_ascii) == full
        # With one character beyond ASCII the full table applies, to the same effect.
        assert clean(every_ascii + "\u202e") == full + "\\u202e"
