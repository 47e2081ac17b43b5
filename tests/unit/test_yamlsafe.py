"""Tests of safe YAML loading: what is refused, how it is explained, and what gets through."""

import time
import tracemalloc

import pytest
import yaml

from workers import yamlsafe
from workers.yamlsafe import MAX_DEPTH, YamlError, describe_size, load_mapping

WHAT = "the configuration file"


def load(text, **kwargs):
    """Load with the configuration file's wording."""
    return load_mapping(text, what=WHAT, **kwargs)


def test_plain_mapping_is_loaded():
    assert load(b"image: example/prep:1.0\ntasks:\n  infer: {}\n") == {
        "image": "example/prep:1.0",
        "tasks": {"infer": {}},
    }


def test_text_and_bytes_give_the_same_result():
    assert load("name: caf\u00e9\n") == load("name: caf\u00e9\n".encode()) == {"name": "caf\u00e9"}


def test_byte_order_mark_is_ignored():
    assert load(b"\xef\xbb\xbfa: 1\n") == {"a": 1}


def test_not_yaml_is_refused_with_line_and_column():
    with pytest.raises(YamlError) as caught:
        load(b"image: x\ntasks: [infer\n")
    assert str(caught.value).startswith("the configuration file is not valid YAML")
    assert "(line 3, column 1)" in str(caught.value)
    assert (caught.value.line, caught.value.column) == (3, 1)


def test_bad_indentation_is_refused_with_its_position():
    with pytest.raises(YamlError) as caught:
        load(b"tasks:\n  infer:\n    a: 1\n   b: 2\n")
    assert caught.value.line == 4


def test_list_instead_of_mapping_is_refused():
    with pytest.raises(YamlError, match="must be a mapping of names to values, not a list"):
        load(b"- image: x\n- tasks: y\n")


def test_single_value_instead_of_mapping_is_refused():
    with pytest.raises(YamlError, match="not a single value"):
        load(b"just some words\n")


def test_anchor_is_refused_with_position():
    with pytest.raises(YamlError, match="anchor") as caught:
        load(b"a: 1\nb: &shared {x: 1}\n")
    assert (caught.value.line, caught.value.column) == (2, 4)


def test_alias_is_refused_with_position():
    # No anchor before it, so only the alias check can refuse this file.
    with pytest.raises(YamlError, match=r"uses a YAML alias \(\*shared\)") as caught:
        load(b"a: 1\nb: *shared\n")
    assert (caught.value.line, caught.value.column) == (2, 4)


def test_anchor_with_alias_is_refused():
    with pytest.raises(YamlError, match="not allowed"):
        load(b"a: &x 1\nb: *x\n")


def test_unused_anchor_is_refused_too():
    with pytest.raises(YamlError, match="anchors are not allowed"):
        load(b"a: &lonely 1\n")


def test_merge_key_is_refused():
    with pytest.raises(YamlError, match="anchor"):
        load(b"base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")


def test_billion_laughs_is_refused_quickly_and_without_memory_blowup():
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join(f"*l{level - 1}" for _ in range(10))
        lines.append(f"l{level}: &l{level} [{refs}]")
    bomb = "\n".join(lines) + "\n"
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(YamlError, match="not allowed"):
            load(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 1.0
    assert peak < 5 * 1024 * 1024


def test_file_over_the_limit_is_refused_before_parsing():
    big = b"a: " + b"x" * (1 << 20) + b"\n"
    with pytest.raises(YamlError, match="the configuration file is larger than the 1 MiB limit"):
        load(big)


def test_custom_limit_is_named_in_the_message():
    with pytest.raises(YamlError, match="paths.yaml is larger than the 64 KiB limit"):
        load_mapping(b"a: 1\n" * 20000, what="paths.yaml", max_bytes=64 * 1024)


def test_file_exactly_at_the_limit_is_accepted():
    text = b"a: " + b"x" * 97
    assert len(text) == 100
    assert load(text, max_bytes=100) == {"a": "x" * 97}


def test_invalid_utf8_is_refused_with_position():
    with pytest.raises(YamlError, match="not valid UTF-8") as caught:
        load(b"a: 1\nb: caf\xe9\n")
    assert (caught.value.line, caught.value.column) == (2, 7)


def test_control_character_is_refused():
    with pytest.raises(YamlError, match="control character") as caught:
        load(b"a: 1\nb: \x01\n")
    assert caught.value.line == 2


@pytest.mark.parametrize("text", [b"", b"   \n\n", b"# only a comment\n", b"~\n", b"null"])
def test_empty_file_is_an_empty_mapping_when_allowed(text):
    assert load(text, allow_empty=True) == {}


@pytest.mark.parametrize("text", [b"", b"  \n", b"# only a comment\n"])
def test_empty_file_is_refused_by_default(text):
    with pytest.raises(YamlError, match="the configuration file is empty"):
        load(text)


def test_multiple_documents_are_refused():
    with pytest.raises(YamlError, match="more than one YAML document") as caught:
        load(b"a: 1\n---\nb: 2\n")
    assert caught.value.line == 2


def test_single_document_with_markers_is_accepted():
    assert load(b"---\na: 1\n...\n") == {"a": 1}


def test_duplicate_key_is_refused():
    with pytest.raises(YamlError, match="names 'image' twice") as caught:
        load(b"image: a/b:1\ntasks: {}\nimage: c/d:2\n")
    assert caught.value.line == 3


def test_same_key_in_different_mappings_is_fine():
    assert load(b"a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}


def test_python_object_tag_is_refused():
    with pytest.raises(YamlError, match="not allowed"):
        load(b"a: !!python/object/apply:os.system ['true']\n")


def test_impossible_date_is_refused_not_crashing():
    with pytest.raises(YamlError, match="cannot read"):
        load(b"when: 2024-02-30\n")


def test_deep_nesting_is_refused():
    deep = "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n"
    with pytest.raises(YamlError, match="nested more than"):
        load(deep)


def test_what_names_the_file_in_messages():
    with pytest.raises(YamlError, match="^paths.yaml must be a mapping"):
        load_mapping(b"- a\n", what="paths.yaml")


@pytest.mark.parametrize(
    ("n_bytes", "expected"),
    [(1 << 20, "1 MiB"), (64 << 10, "64 KiB"), (100, "100 bytes"), (3 << 30, "3 GiB")],
)
def test_sizes_are_described_in_plain_units(n_bytes, expected):
    assert describe_size(n_bytes) == expected


def test_pure_python_loader_refuses_the_same_things(monkeypatch):
    # Installations without libyaml fall back to the Python loader; it must be just as strict.
    monkeypatch.setattr(yamlsafe, "_Loader", yaml.SafeLoader)
    assert load(b"a: {b: [1, 2]}\n") == {"a": {"b": [1, 2]}}
    with pytest.raises(YamlError, match="alias"):
        load(b"a: 1\nb: *x\n")
    with pytest.raises(YamlError, match="nested more than"):
        load("a: " + "[" * 500 + "]" * 500)
    with pytest.raises(YamlError, match="line 2, column 1"):
        load(b"a: 1\n---\nb: 2\n")
